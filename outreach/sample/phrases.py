"""Phrase banks for the sample mailbox: many ways to say each thing, combined at random.

Rules the banks keep so the planted truth holds (a detector reading the mail
must be able to agree with it):

* Neutral customer lines avoid strongly negative words ("error", "problem",
  "unfortunately") so a plain question does not read as an unhappy customer;
  unhappy lines use unmistakably emotional words.
* Only the ``CHURN`` lines say churn words ("cancel", "switching to", ...),
  only ``PROMISES`` say promise words ("get back to you", "looking into"),
  and only incident lines use outage words ("down", "outage", "502").
* Staff answers state a resolution without a question mark; staff questions
  always ask one.

Placeholders in braces are filled by the generator (``{order}``, ``{invoice}``,
``{amount}``, ``{device}``, ``{browser}``, ``{plan}``, ``{when}``, ``{n}``,
``{weekday}``, ``{competitor}``, ``{first}``).
"""

from __future__ import annotations

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Mateo",
    "Chloe", "Daniel", "Amara", "Jonas", "Yuki", "Ravi", "Fatima", "Lars", "Ines", "Tobias",
    "Grace", "Omar", "Hana", "Felix", "Zoe", "Arjun", "Leila", "Marco", "Nina", "Samuel",
    "Elena", "Kofi", "Aisha", "Henrik", "Claire", "Diego", "Maya", "Viktor", "Ruth", "Theo",
    "Ingrid", "Pablo", "Keiko", "Malik", "Sara", "Jakub", "Lena", "Tariq", "Julia", "Ben",
    "Greta", "Hugo", "Anya", "Kai", "Rosa", "Emil", "Nadia", "Oscar", "Vera", "Sean",
)
LAST_NAMES = (
    "Walker", "Nguyen", "Schmidt", "Okafor", "Rossi", "Kowalski", "Tanaka", "Fischer", "Silva",
    "Haddad", "Jensen", "Moreau", "Patel", "Larsen", "Costa", "Novak", "Brennan", "Ortiz",
    "Yilmaz", "Lindqvist", "Mensah", "Dubois", "Kaur", "Weber", "Ferreira", "Andersson",
    "Murphy", "Kim", "Hoffmann", "Romero", "Chen", "Eriksen", "Abbott", "Greene", "Molina",
    "Berg", "Sato", "Keller", "Farouk", "Quinn", "Vogel", "Ibrahim", "Marsh", "Petrov",
)
FREEMAIL_DOMAINS = ("example.com", "example.org", "example.net")
COMPANY_DOMAINS = (
    "acme-logistics.example", "brightleaf.example", "harbourview.example", "kestrel-labs.example",
    "oakridge-dental.example", "pinecone.example", "quillandink.example", "redfern-studio.example",
    "silverline.example", "tidewater.example", "umbra-games.example", "valleyfarm.example",
    "westbrook-legal.example", "yellowbird.example", "zenith-fitness.example", "copperpot.example",
    "driftwood.example", "emberhouse.example", "foxglove.example", "granite-build.example",
)
JOB_TITLES = (
    "Operations Manager", "Office Manager", "Head of Finance", "Founder", "IT Admin",
    "Practice Manager", "Marketing Lead", "Bookkeeper", "CTO", "Studio Manager",
)
CUSTOMER_TIMEZONES = (
    "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago", "Europe/Madrid",
    "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles", "Europe/Stockholm", None,
)

DEVICES = ("Pixel 8", "iPhone 14", "Galaxy S23", "iPad Air", "iPhone 12 mini", "OnePlus 11",
           "MacBook Pro", "ThinkPad X1", "Surface Laptop 5", "Dell XPS 13")
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge", "Brave")
PLANS = ("Starter", "Team", "Business", "Growth", "Pro")
COMPETITORS = ("Zendesk", "Freshdesk", "HubSpot", "Help Scout", "a cheaper tool", "another provider")
WHEN = ("this morning", "yesterday", "since Monday", "since the weekend", "last night",
        "since the update on Tuesday", "for two days now", "since last week", "earlier today",
        "since I changed my phone", "after the latest update")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

GREETINGS = ("Hi,", "Hello,", "Hi there,", "Hey,", "Hello support team,", "Good morning,",
             "Hi Northwind team,", "Dear support,", "Hiya,", "", "Hi all,", "Hello again,")
SIGN_OFFS = ("Thanks,", "Best,", "Regards,", "Cheers,", "Kind regards,", "Best regards,",
             "Many thanks,", "Thank you,", "—", "Thx,", "")
MOBILE_SIGNATURES = ("Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android",
                     "Sent from Mail for Windows", "Sent from my iPad")

# One bank per product area. ``subjects`` and ``openers`` carry placeholders so
# first sentences differ even when the same template is chosen twice.
TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "invoice": {
        "subjects": ("Invoice {invoice}", "Question about invoice {invoice}", "charged twice?",
                     "VAT number missing on invoice", "Billing question", "Receipt for {when_short}",
                     "Double charge on my card", "Invoice address change", "billing - {invoice}"),
        "openers": (
            "I was charged twice for invoice {invoice}, once on the 3rd and again on the {n}th.",
            "Our invoice {invoice} shows {amount} but we are on the {plan} plan which should be less.",
            "Could you add our VAT number to invoice {invoice}? Our accountant needs it by the {n}th.",
            "My card statement shows two payments of {amount} from Northwind {when}.",
            "We need the invoices from the last {n} months re-issued with our new company address.",
            "The receipt for {invoice} went to my old email address, could you resend it?",
            "Quick billing question: why did invoice {invoice} go up to {amount}?",
            "Finance flagged invoice {invoice} because the billing name is wrong (it says {first}'s personal name).",
            "i think we got billed for {n} seats but we only have {n2} people using it.",
            "Is it possible to pay invoice {invoice} by bank transfer instead of card?",
        ),
        "details": (
            "The card ends in {n4}.", "Our company is registered in Germany if that matters for VAT.",
            "I've attached a screenshot of the statement.", "We switched plans around the middle of the month.",
            "The PO number we need on it is PO-{n4}.", "We pay annually, not monthly.",
            "I checked the billing page and it lists only one subscription.",
        ),
        "answers": (
            "I checked invoice {invoice} and you were right, the second charge of {amount} was a duplicate. I've refunded it and you'll see it on your statement in 3–5 business days.",
            "I've re-issued invoice {invoice} with your VAT number on it; the new PDF is attached and also on the Billing page.",
            "The higher amount on {invoice} is the pro-rated charge for the {n} seats added mid-month. From next month it goes back to the normal rate.",
            "I've updated the billing address on your account and re-sent the last {n} invoices to you.",
            "Bank transfer is fine for annual plans. I've switched your account to invoice payment and the bank details are in the PDF.",
            "The receipt has been resent to the address on file now, and I've updated your billing contact too.",
        ),
        "questions": (
            "Could you send me the last four digits of the card that was charged, so I can match the payments?",
            "Which company name and address should appear on the re-issued invoices?",
            "Can you confirm the VAT number, including the country prefix?",
            "Do you have the date of the second payment? I only see one on our side so far.",
        ),
    },
    "login": {
        "subjects": ("Can't log in", "Login not working", "password reset email never arrives",
                     "Locked out of my account", "2FA codes not accepted", "sign in issue on {browser}",
                     "Can't sign in after changing phone", "login help please", "Account access"),
        "openers": (
            "I can't log in to my account {when}, it just sends me back to the sign in page.",
            "The password reset email never arrives, I tried {n} times and checked spam.",
            "My 2FA codes stopped being accepted {when} and I'm locked out.",
            "I got a new {device} and now the authenticator codes don't match anymore.",
            "When I sign in on {browser} the page just keeps loading and never opens the dashboard.",
            "One of our team members ({first}) can't log in, she gets 'invalid credentials' even after a reset.",
            "is there a way to log in without the 2FA code? I lost access to my old {device}.",
            "Login works on my phone but not on {browser} on my {device}.",
            "I'm trying to sign in with Google SSO and it says my account is not linked.",
        ),
        "details": (
            "My username is the same as this email address.", "I already cleared cookies and cache.",
            "Tried in a private window too, same thing.", "It worked fine until {when}.",
            "We're on the {plan} plan, in case that matters.", "I'm writing from my personal address because I can't get in.",
        ),
        "answers": (
            "I've reset the 2FA on your account, so you can sign in with just your password and set up the authenticator again on your {device}.",
            "Our mail provider had been delaying reset emails to your domain. I've sent a fresh link manually, valid for 24 hours.",
            "Your account had been locked after several attempts; I've unlocked it now and you can sign in as usual.",
            "The SSO link was missing on your profile. I've linked your Google account, so 'Sign in with Google' works from now on.",
            "{browser} was blocking the third-party cookie our sign in uses. Allowing cookies for northwind.example fixes it; I've added the steps to your account notes.",
        ),
        "questions": (
            "Could you tell me which email address the account was created with?",
            "Do you still have the backup codes we showed when you set up 2FA?",
            "Which browser version are you on? A screenshot of the page would help too.",
            "Can you confirm the last invoice number on the account, so I can verify it's you?",
        ),
    },
    "delivery": {
        "subjects": ("Where is my order {order}?", "Order {order} not delivered", "tracking not updating",
                     "Delivery address change for {order}", "Parcel marked delivered but not here",
                     "Shipping time to Norway?", "Order {order}", "Wrong item in package", "delivery question"),
        "openers": (
            "My order {order} was supposed to arrive {when} but the tracking hasn't moved in {n} days.",
            "The parcel for order {order} is marked as delivered but nothing was left at my door.",
            "Could you change the delivery address for order {order}? I'm moving on the {n}th.",
            "I received the package for {order} but it has the {device} case instead of the stand I ordered.",
            "How long does shipping to Norway usually take? I'm thinking of ordering {n} units.",
            "Tracking for {order} says 'label created' since {when}.",
            "the courier left a card for {order} but the depot says they have no record of it",
            "Our office order {order} arrived with only {n2} of the {n} items.",
        ),
        "details": (
            "The tracking number starts with NW{n4}.", "I'm home all week if they need to try again.",
            "It's a gift so timing matters a bit.", "The neighbours haven't seen it either.",
            "Order was placed on the {n}th.",
        ),
        "answers": (
            "The courier confirmed the parcel for {order} was held at the depot. It's been re-dispatched and should reach you tomorrow; new tracking is NW{n4}.",
            "I've changed the delivery address on {order} before it left the warehouse, so it will go to your new place.",
            "The wrong item was a packing slip mix-up. A replacement stand is on its way and you can keep the case.",
            "Shipping to Norway takes 4–6 business days, and orders over {n} units ship free.",
            "The missing items from {order} shipped separately this morning; here's the tracking: NW{n4}.",
        ),
        "questions": (
            "Could you check with your neighbours or building reception? Couriers sometimes leave parcels there.",
            "What's the new address, including the postcode?",
            "Could you send a photo of the item you received and the packing slip?",
            "Is the name on the doorbell the same as on the order?",
        ),
    },
    "sync": {
        "subjects": ("Sync stopped", "Files not syncing", "Sync stuck at {n}%", "sync between laptop and phone",
                     "Calendar sync question", "Changes not showing on other devices", "sync"),
        "openers": (
            "Sync on my {device} has been stuck at {n}% {when}.",
            "Changes I make on the web app don't show up on my {device} anymore.",
            "Our shared folder stopped syncing for {n2} people in the team {when}.",
            "The calendar sync only brings over events up to the {n}th, anything later is missing.",
            "Files I add on my laptop take hours to appear on my phone, it used to be instant.",
            "I renamed a folder and now sync shows {n} conflicts that I can't resolve.",
        ),
        "details": (
            "The app version is 4.{n}.2.", "We're on the {plan} plan with about {n} users.",
            "I restarted the app and the laptop.", "It's the same on wifi and mobile data.",
        ),
        "answers": (
            "Your workspace had an old device token that blocked sync. I've cleared it; sync picked up again on our side and should catch up within the hour.",
            "The conflicts came from the folder rename. I've merged them on the server, so everything should match on your {device} now.",
            "Calendar sync only covers the next 30 days by default. You can extend it under Settings → Calendar → Range.",
            "Version 4.{n}.3 fixes the sync delay on phones, and it's in the app store now.",
        ),
        "questions": (
            "Could you send me the sync log from Settings → Help → Export log?",
            "Which app version do you see under Settings → About?",
            "Does it happen with every folder, or only the shared one?",
        ),
    },
    "refund": {
        "subjects": ("Refund request", "Refund for order {order}", "refund for unused months",
                     "Asking for a refund", "Return and refund", "Refund status?"),
        "openers": (
            "I'd like a refund for order {order}, the item doesn't fit our setup.",
            "We were charged {amount} for the annual renewal but meant to stay monthly, can we get that refunded?",
            "I returned order {order} on the {n}th, when will the refund come through?",
            "Could I get a refund for the {n2} unused seats on our {plan} plan?",
            "I accidentally bought the {plan} plan twice on {when_short}, could one be refunded?",
            "Requesting a refund for {order} as discussed on the phone with {first}.",
        ),
        "details": (
            "The return label number is RT{n4}.", "Happy to keep the monthly plan going.",
            "The item is unused and in the original box.", "Payment was by PayPal.",
        ),
        "answers": (
            "I've refunded {amount} to your original payment method; banks usually show it within 3–5 business days.",
            "Your return for {order} arrived at the warehouse and the refund went out today.",
            "I've switched you back to monthly and refunded the difference of {amount}.",
            "The duplicate purchase is refunded, and the seats you keep are unchanged.",
        ),
        "questions": (
            "Could you send me the return label number so I can find the parcel?",
            "Should the refund go to the card or as account credit?",
            "Which of the two purchases would you like to keep?",
        ),
    },
    "export": {
        "subjects": ("Export to CSV", "How do I export all contacts?", "CSV export missing columns",
                     "Data export for our auditors", "export question", "Bulk export"),
        "openers": (
            "Is there a way to export all {n} contacts to CSV in one go?",
            "The CSV export leaves out the custom fields we added {when}.",
            "Our auditors need a full export of last year's records by the {n}th, how do we do that?",
            "When I export reports to CSV the dates come out in US format, can that be changed?",
            "How do I export only the records tagged '{tag}'?",
        ),
        "details": (
            "We have about {n}k records.", "Excel is what we use on our side.",
            "An API option would also work for us.",
        ),
        "answers": (
            "Full exports are under Settings → Data → Export all; it emails you a zip with one CSV per table.",
            "Custom fields are included once you tick 'Include custom fields' on the export screen.",
            "The date format follows your profile's locale. Switching it to English (UK) gives day-first dates.",
            "You can filter by tag first and then use Export → Current view; only the filtered records are included.",
        ),
        "questions": (
            "Roughly how many records is it, so I know whether the web export is enough?",
            "Which custom fields are missing? A screenshot of the export settings would help.",
        ),
    },
    "mobile app": {
        "subjects": ("Android app closes on start", "iPhone app question", "Mobile app notifications",
                     "app on {device}", "Push notifications not coming through", "Mobile app login loop"),
        "openers": (
            "The Android app closes right after the splash screen on my {device}.",
            "I'm not getting push notifications in the mobile app {when}.",
            "Is there a dark mode in the iPhone app? I couldn't find it on my {device}.",
            "The mobile app keeps asking me to sign in every time I open it on my {device}.",
            "Can the mobile app work offline? I'm travelling for {n} days with patchy signal.",
        ),
        "details": ("Android 14, app version 4.{n}.0.", "iOS 17.4.", "Reinstalling didn't change anything.",
                    "Notifications are allowed in the phone settings."),
        "answers": (
            "Version 4.{n}.1 of the Android app fixes the start-up crash on your {device}; it's rolling out in the Play Store today.",
            "Notifications were switched off for your workspace after the migration. I've turned them back on.",
            "Dark mode follows your phone's system setting, so switching the {device} to dark turns it on in the app.",
            "Offline mode is under Settings → Offline; pick the projects you need and they stay on the phone.",
        ),
        "questions": (
            "Which app version do you see under Settings → About?",
            "Could you send a short screen recording of what happens?",
        ),
    },
    "integration": {
        "subjects": ("API rate limit", "Webhook not firing", "Zapier integration", "API key question",
                     "integration with our CRM", "Webhooks for new orders"),
        "openers": (
            "Our webhook for new orders stopped firing {when}; the endpoint logs show nothing from you.",
            "What's the API rate limit on the {plan} plan? We hit 429s at about {n} requests a minute.",
            "Does the Zapier integration support the custom fields we added?",
            "How do I rotate an API key without breaking the running integration?",
            "We want to connect Northwind to our CRM, is there an API endpoint for contacts?",
        ),
        "details": ("Our endpoint is behind Cloudflare.", "We use the v2 API.", "Requests come from a single IP."),
        "answers": (
            "The {plan} plan allows 600 requests a minute; I've raised your workspace to 1200 for the migration.",
            "The webhook had been disabled after too many timeouts. I've re-enabled it, and deliveries resumed.",
            "Custom fields show up in Zapier after you reconnect the account, because the field list is loaded at connection time.",
            "You can create a second key, switch the integration to it, and then revoke the old one; both work in the meantime.",
        ),
        "questions": (
            "Could you send the webhook ID from Settings → Developers?",
            "Which endpoint returns the 429s, and from how many workers?",
        ),
    },
    "subscription": {
        "subjects": ("Upgrade to {plan}", "Adding seats", "Plan question", "Downgrade at renewal",
                     "Change of plan", "subscription question", "Nonprofit discount?"),
        "openers": (
            "We'd like to add {n2} seats to our {plan} subscription from next month.",
            "What's the difference between the Team and Business plans for {n} users?",
            "Can we downgrade to Starter at the renewal on the {n}th?",
            "Do you offer a nonprofit discount? We're a small charity with {n2} staff.",
            "How do I move our subscription to a different admin? {first} is leaving the company.",
        ),
        "details": ("We pay yearly.", "Our renewal is in {n} weeks.", "Budget approval is already done."),
        "answers": (
            "I've added the {n2} seats; they're available now and billed pro-rata on the next invoice.",
            "Team covers up to 25 users; Business adds SSO, audit logs and priority support, which is what most teams of {n} choose.",
            "The downgrade is scheduled for your renewal date, and nothing changes before then.",
            "We do: 30% off for registered nonprofits. I've applied it to your account from the next invoice.",
            "I've made the new admin the owner of the subscription; {first} can be removed whenever you like.",
        ),
        "questions": (
            "Who should become the new admin? Please send their email address.",
            "Could you send a copy of your charity registration?",
        ),
    },
}

TAGS = ("vip", "2025", "wholesale", "inactive", "newsletter", "trial")

# ---- customer lines by mood -------------------------------------------------

# Put in front of a first sentence now and then, the way people start mail.
LEAD_INS = (
    "Quick one:", "Hoping you can help —", "Sorry to bother you, but", "So,", "Not sure who to ask, but",
    "Writing on behalf of our team:", "Hope you're well.", "Me again!", "First time writing in:",
    "Following our call,", "Just noticed that", "FYI", "Question for you:", "Long-time customer here.",
    "Our IT person is away, so:", "Bit of a strange one:", "Apologies if this was asked before:",
    "Happy Monday!", "Context first:", "Small thing, but",
)

NEUTRAL_ASKS = (
    "Could you take a look?", "Can you help with this?", "What should I do next?",
    "Is there something I can try on my side?", "Let me know what you need from me.",
    "Would appreciate a hand with this.", "Can you check what's going on?", "Any idea?",
    "How can I sort this out?", "Please advise.",
)
NEUTRAL_CLOSERS = (
    "Thanks in advance.", "Appreciate it.", "Thanks for your help.", "", "", "Looking forward to hearing from you.",
)
# Emotional words on purpose: an unhappy customer must read as unhappy.
ANGRY_LINES = (
    "This is really frustrating, I've wasted hours on it already.",
    "Honestly I'm very disappointed, this is the worst experience I've had with a supplier.",
    "I'm angry that nobody seems to care about this.",
    "This is ridiculous. We pay for this service and it's useless right now.",
    "I'm fed up with this, it's a terrible experience.",
    "We're losing money because of this and I'm not happy at all.",
    "Frankly this is awful service and I'm furious.",
    "I'm extremely annoyed, this has ruined my whole morning.",
    "Seriously disappointed, this is not acceptable and it's hurting our business.",
    "Really upset about this, it's a total mess.",
    "What a nightmare. I'm sick of chasing this.",
    "This is a disaster for us and frankly pathetic.",
)
MILD_NEGATIVE_LINES = (
    "A bit annoying to be honest.", "It's quite frustrating.", "Not great timing for us.",
    "Slightly worried about this.",
)
THANKS = (
    "Thanks, that worked!", "Perfect, all sorted now. Thanks a lot!", "Great, it works again. Thank you so much!",
    "That fixed it, thanks for the quick help!", "Brilliant, thank you! Really appreciate it.",
    "Thank you, that's exactly what I needed.", "Awesome, works perfectly now. Great support!",
    "Got it, thanks so much for sorting this out!", "Excellent, thank you for the fast reply!",
    "Lovely, that did the trick. Thanks!", "Wonderful, thank you very much!",
    "Thanks {agent}, great help as always!",
)
NUDGES = (
    "Any news on this?", "Just following up — did you get my message?", "Is anyone looking at this?",
    "Hello? Could someone get back to me please?", "Bumping this, can you reply?",
    "Still waiting to hear back, any update?", "Did this get lost?",
)
NEXT_QUESTIONS = (
    "One more thing: can I do the same for the other {n2} accounts?",
    "Thanks. Does this also apply to the invoices from last year?",
    "OK, and what happens at the next renewal?",
    "That part worked, but how do I do it on the {device} as well?",
    "Followup question — is there a way to automate this?",
    "Thanks for that. Could you also check the second account under {first}'s name?",
    "Understood. Is there a way to get notified when this happens again?",
)
CUSTOMER_ANSWERS = (
    "Sure, it's {n4}.", "Here you go: the number is {n4}.", "It's the same address I'm writing from.",
    "The app says version 4.{n}.2.", "Attached the screenshot.", "It's only the shared folder.",
)
CHURN = (
    "If this isn't fixed by {weekday} I'm going to cancel our subscription.",
    "We're seriously considering switching to {competitor}.",
    "Honestly we're looking at alternatives now.",
    "Please close my account if this can't be sorted.",
    "I want to cancel. This has gone on too long.",
    "One more week like this and we're switching to {competitor}.",
    "I'll have to talk to my manager about cancelling our plan.",
    "I've already started a trial with a competitor.",
)
THIRD_TIME = (
    "This is the third time I'm writing about this.",
    "Third time I ask about this now.",
    "I've contacted you about this twice before already.",
    "Same thing as last week, it's back again.",
    "Writing again about the same thing, it came back.",
)
STALEMATE_CUSTOMER = (
    "Still not fixed. I did exactly what you said and nothing changed. This is ridiculous.",
    "No, that didn't work either. I'm so frustrated with this.",
    "We've been going back and forth for days and it's still broken. Terrible.",
    "Your last suggestion made it worse. I'm really angry now.",
    "I'm sick of repeating myself. Nothing you suggest works.",
    "Same result, again. This is a waste of my time.",
    "Still the same awful behaviour. Can't believe this is so hard.",
    "Nope. Still failing. I'm losing patience with this, honestly.",
)
STALEMATE_STAFF = (
    "I'm sorry it's still not right. Could you try signing out on all devices and clearing the app data, then send me the new log?",
    "Thanks for trying that. Our engineers suggest reinstalling the app after deleting the local folder. Would you be able to try it today?",
    "I understand this is frustrating. Could you tell me the exact time it last happened so I can match it in our logs?",
    "Sorry for the back and forth. Could you try it on a different network, just to rule that out?",
    "I've applied another fix on our side. Can you check again and tell me what you see?",
)

# ---- staff lines ----------------------------------------------------------

EMPATHY = (
    "I'm really sorry about the trouble this has caused.", "Sorry for the hassle, and thanks for your patience.",
    "I completely understand how annoying this is, and I'm sorry.", "Apologies — that shouldn't have happened.",
    "Thanks for flagging this, and sorry it got in your way.",
)
STAFF_OPENERS = (
    "Thanks for getting in touch.", "Thanks for reaching out.", "Thanks for the details.",
    "Happy to help with this.", "Good question.", "Thanks for your message.", "",
)
STAFF_CLOSERS = (
    "Let me know if anything else comes up.", "Have a good rest of the week.", "All the best.",
    "Happy to help anytime.", "Just reply here if it happens again.", "",
)
WELCOMES = (
    "You're welcome, glad it's sorted!", "Great to hear, have a lovely day.",
    "Glad that did it! Have a great week.", "Happy to help, enjoy the rest of your day.",
)
# Each promise says a promise phrase; ``{deadline}`` is "by Friday", "tomorrow" or "".
PROMISES = (
    "I've passed this to our engineers and I'll get back to you {deadline}.",
    "We're looking into it now and I'll update you {deadline}.",
    "Our billing team is looking into this; expect an update {deadline}.",
    "I've escalated this to the product team and will let you know {deadline} what they find.",
    "Let me check with the warehouse and I'll get back to you {deadline}.",
    "We're investigating this and I'll keep you posted.",
    "I'll follow up {deadline} once I've heard back from the courier.",
)
PROMISE_DEADLINES = ("by {weekday}", "by the end of the week", "", "", "as soon as I can")

# ---- German ----------------------------------------------------------------

GERMAN_CUSTOMER = (
    "Hallo, ich kann mich seit {when_de} nicht mehr in mein Konto einloggen. Können Sie bitte nachsehen?",
    "Guten Tag, auf der Rechnung {invoice} fehlt unsere USt-IdNr. Könnten Sie die Rechnung neu ausstellen?",
    "Hallo zusammen, unsere Bestellung {order} ist immer noch nicht angekommen. Wo ist das Paket?",
    "Hallo, wie kann ich alle Kontakte als CSV exportieren? Wir haben ca. {n} Einträge.",
    "Guten Morgen, wir möchten {n2} weitere Lizenzen für unser {plan}-Abo. Wie geht das?",
)
GERMAN_NUDGES = ("Gibt es schon Neuigkeiten?", "Hallo, hat jemand meine Nachricht gesehen?")
GERMAN_PROMISES = (
    "Vielen Dank für Ihre Nachricht. Wir schauen uns das an und ich melde mich bis {weekday_de} bei Ihnen.",
    "Danke für den Hinweis, unser Team prüft das gerade. Wir melden uns bis {weekday_de}.",
)
GERMAN_WHEN = ("gestern", "heute Morgen", "Montag", "dem Update")
GERMAN_WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag")

# ---- incident --------------------------------------------------------------

INCIDENT_ANGRY = (
    "Your checkout was down all afternoon and we lost sales because of it. I'm furious.",
    "The whole payment page has been unavailable for hours, this outage is a disaster for our shop.",
    "Checkout returned 502 for every customer today. Really bad — we lost dozens of orders.",
    "Why was there no warning about the outage? Terrible communication, and we lost revenue.",
    "Your service was down during our busiest hours. Extremely disappointed.",
    "Payments have been down since lunchtime and I'm angry nobody told us anything.",
)
INCIDENT_CALM = (
    "Is checkout down for anyone else? Our customers see a 502 when they pay.",
    "Quick check: is there an outage? The payment page isn't loading for us.",
    "Looks like the checkout is unavailable right now, is that on your side?",
)
INCIDENT_STAFF = (
    "We had an outage in checkout between 13:40 and 17:05 UTC; it's fully resolved and payments are working again.",
    "Checkout was unavailable for about three hours today because of a failed database upgrade. It's fixed now.",
)

# ---- machine mail ------------------------------------------------------------

OOO_BODIES = (
    "I'm out of the office until {weekday} with limited access to email. For urgent matters please contact {first} at our office.",
    "Thank you for your email. I am currently on annual leave and will respond when I return on {weekday}.",
    "Automatic reply: I'm away until next week. Your message will not be forwarded.",
)
