//! The call scripts the generator draws from: a dozen everyday support scenarios, each a sequence
//! of steps with several natural wordings, plus shared openings, closings, re-prompts and
//! out-of-domain lines. `{slot}` placeholders are filled per conversation (see `SLOTS`).

/// One exchange: what the caller says, what the agent answers, and what NLU detected.
pub struct Step {
    pub intent: &'static str,
    pub user: &'static [&'static str],
    pub agent: &'static [&'static str],
    /// Slots whose values are reported as this turn's entities.
    pub entities: &'static [&'static str],
}

/// A hand-off to a human at the end of the scripted part.
pub struct Handoff {
    pub chance: f64,
    pub reason: &'static str,
    pub destination: &'static str,
    pub user: &'static [&'static str],
    pub agent: &'static [&'static str],
}

/// A keypad step: the agent asks for digits and the caller types them.
pub struct Keypad {
    pub chance: f64,
    pub prompt: &'static [&'static str],
    pub digits: usize,
    pub entity: &'static str,
    pub confirm: &'static [&'static str],
}

pub struct Scenario {
    pub name: &'static str,
    pub companies: &'static [&'static str],
    /// What the agent can help with, for out-of-domain redirects.
    pub topic: &'static str,
    pub steps: &'static [Step],
    pub keypad: Option<Keypad>,
    pub handoff: Option<Handoff>,
}

/// A script in another language: each line is (spoken, English).
pub struct ForeignStep {
    pub intent: &'static str,
    pub user: (&'static str, &'static str),
    pub agent: (&'static str, &'static str),
    pub entities: &'static [&'static str],
}

pub struct ForeignScenario {
    pub language: &'static str,
    pub company: &'static str,
    pub steps: &'static [ForeignStep],
}

/// Values for `{slot}` placeholders.
pub const SLOTS: &[(&str, &[&str])] = &[
    (
        "name",
        &[
            "Sarah Collins",
            "James Okafor",
            "Priya Patel",
            "Tom Becker",
            "Maria Garcia",
            "Liam O'Brien",
            "Aiko Tanaka",
            "David Nguyen",
            "Emma Schultz",
            "Kwame Mensah",
            "Olivia Rossi",
            "Noah Williams",
        ],
    ),
    ("party", &["two", "three", "four", "five", "six", "eight"]),
    (
        "time",
        &[
            "6:30",
            "7 o'clock",
            "7:15",
            "7:45",
            "8 pm",
            "half past six",
            "noon",
        ],
    ),
    (
        "day",
        &[
            "tonight",
            "tomorrow",
            "Friday",
            "Saturday",
            "next Tuesday",
            "this Sunday",
            "Thursday",
        ],
    ),
    (
        "date",
        &[
            "the 14th",
            "March 3rd",
            "the 21st",
            "next Monday",
            "the 2nd of June",
            "the 30th",
        ],
    ),
    (
        "order",
        &[
            "4 4 7 1 9 2",
            "B X 9 2 1 7",
            "7 7 3 0 5 8",
            "A 1 9 4 4 2",
            "3 1 8 8 2 6",
        ],
    ),
    (
        "city",
        &[
            "Chicago", "Denver", "Boston", "Seattle", "Austin", "Miami", "London", "Dublin",
        ],
    ),
    (
        "street",
        &[
            "42 Maple Avenue",
            "17 Harbor Road",
            "908 Elm Street",
            "3 Kingfisher Close",
            "221 Baker Street",
            "55 Sunset Boulevard",
        ],
    ),
    (
        "amount",
        &["$42.50", "$118", "$79.99", "$260", "$15.20", "$1,140"],
    ),
    (
        "flight",
        &["UA 482", "BA 117", "DL 2210", "AA 90", "LH 431", "EI 105"],
    ),
    (
        "drug",
        &[
            "lisinopril",
            "metformin",
            "atorvastatin",
            "levothyroxine",
            "amoxicillin",
            "sertraline",
        ],
    ),
    ("nights", &["two", "three", "one", "four", "five"]),
    (
        "doctor",
        &[
            "Dr. Patel",
            "Dr. Moreno",
            "Dr. Chen",
            "Dr. Hughes",
            "Dr. Adeyemi",
        ],
    ),
    ("carrier", &["UPS", "FedEx", "the courier", "USPS", "DHL"]),
    (
        "email",
        &[
            "sarah.c@example.com",
            "j.okafor@example.org",
            "priya.p@example.net",
            "tbecker@example.com",
        ],
    ),
    ("last4", &["4821", "0937", "5512", "7780", "3364", "1209"]),
];

pub const CLOSING_USER: &[&str] = &[
    "No, that's everything, thanks.",
    "That's all, thank you so much.",
    "Nope, you've been really helpful. Bye!",
    "Great, thanks. That's it.",
    "No that's fine, cheers.",
    "That's all I needed, thank you.",
];

pub const CLOSING_AGENT: &[&str] = &[
    "You're welcome. Have a lovely day!",
    "Happy to help. Goodbye!",
    "Thanks for calling, take care.",
    "Glad I could help. Have a great rest of your day.",
];

pub const ANYTHING_ELSE: &[&str] = &[
    " Is there anything else I can help you with?",
    " Anything else today?",
    " Can I help with anything else?",
];

pub const REPROMPTS: &[&str] = &[
    "Sorry, I didn't catch that. Are you still there?",
    "I can't hear anything. Could you say that again?",
    "Hello? I'm still here whenever you're ready.",
    "Sorry, I missed that. Could you repeat it for me?",
];

pub const OOD_USER: &[&str] = &[
    "What's the weather going to be like tomorrow?",
    "Can you tell me a joke?",
    "Who won the game last night?",
    "Are you a real person?",
    "How do I get to the airport from here?",
    "What's the meaning of life?",
    "Can you order me a pizza?",
];

pub const OOD_AGENT: &[&str] = &[
    "I'm afraid I can't help with that, but I can help with {topic}. What would you like to do?",
    "That's outside what I can do, sorry. I can help with {topic} though.",
    "I'm the automated assistant, so I can only help with {topic}. How can I help with that?",
];

const fn step(
    intent: &'static str,
    user: &'static [&'static str],
    agent: &'static [&'static str],
    entities: &'static [&'static str],
) -> Step {
    Step {
        intent,
        user,
        agent,
        entities,
    }
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "restaurant_booking",
        companies: &["Bella's Trattoria", "The Copper Pot", "Sakura House"],
        topic: "table bookings",
        steps: &[
            step(
                "book_table",
                &[
                    "Hi, I'd like to book a table for {party}, please.",
                    "Yeah hi, can I get a reservation for {party} people?",
                    "Hello, do you have space for {party} {day}?",
                ],
                &[
                    "Of course. What day and time would suit you?",
                    "I'd be happy to book that. When would you like to come in?",
                ],
                &["party"],
            ),
            step(
                "provide_datetime",
                &[
                    "{day} at {time} if possible.",
                    "Um, {day}, around {time}?",
                    "Could we do {time} {day}?",
                ],
                &[
                    "Let me check. Yes, {time} {day} is available. Can I take a name for the booking?",
                    "Good news, we have a table at {time} {day}. What name should I put it under?",
                ],
                &["day", "time"],
            ),
            step(
                "provide_name",
                &["It's {name}.", "Under {name}, please.", "{name}."],
                &[
                    "Thanks {name}. You're booked for {party} at {time} {day}. We'll text you a confirmation.",
                    "All done, {name}: a table for {party}, {day} at {time}.",
                ],
                &["name"],
            ),
            step(
                "dietary_question",
                &[
                    "Oh, one of us is gluten free, is that okay?",
                    "Do you have vegetarian options?",
                    "Is there parking nearby?",
                ],
                &[
                    "Absolutely, I've added a note to your booking and the kitchen will take care of it.",
                    "Yes, we do, and I've noted it on the reservation.",
                ],
                &[],
            ),
        ],
        keypad: None,
        handoff: Some(Handoff {
            chance: 0.12,
            reason: "large_party_request",
            destination: "front_of_house",
            user: &[
                "Actually it's for a private event, about twenty people.",
                "Can I speak to the manager about a group booking?",
            ],
            agent: &[
                "For larger groups I'll put you through to the team. One moment please.",
                "Let me transfer you to the restaurant manager who handles events.",
            ],
        }),
    },
    Scenario {
        name: "lost_card",
        companies: &["Northwind Bank", "Harbor Credit Union"],
        topic: "your cards and accounts",
        steps: &[
            step(
                "report_lost_card",
                &[
                    "I think I've lost my debit card.",
                    "Hi, my card was stolen, I need to cancel it.",
                    "I can't find my credit card anywhere, can you block it?",
                ],
                &[
                    "I'm sorry to hear that. I can freeze the card right away. First I need to verify you.",
                    "Let's get that card blocked. Before I do, I just need to confirm a few details.",
                ],
                &[],
            ),
            step(
                "confirm_identity",
                &[
                    "Sure, my name is {name}.",
                    "It's {name}, and my email is {email}.",
                ],
                &[
                    "Thank you {name}, you're verified. Is it the card ending in {last4}?",
                    "Thanks, that matches. I can see a card ending {last4}. Is that the one?",
                ],
                &["name"],
            ),
            step(
                "confirm_card",
                &[
                    "Yes, that's the one.",
                    "Yeah, ending {last4}.",
                    "That's right.",
                ],
                &[
                    "Done. The card ending {last4} is now frozen and a replacement will arrive in 3 to 5 working days.",
                    "I've cancelled it and ordered a new card to your address on file.",
                ],
                &["last4"],
            ),
            step(
                "check_transactions",
                &[
                    "Were there any payments on it since yesterday?",
                    "Can you check if anyone used it?",
                ],
                &[
                    "I can see one pending payment of {amount}. If you don't recognise it our fraud team will be in touch.",
                    "The last payment was {amount} yesterday afternoon, nothing since.",
                ],
                &["amount"],
            ),
        ],
        keypad: Some(Keypad {
            chance: 0.5,
            prompt: &[
                "Please type the last four digits of your card on your keypad.",
                "Using your keypad, enter the last four digits of the card.",
            ],
            digits: 4,
            entity: "card_last4",
            confirm: &["Thanks, I've got that."],
        }),
        handoff: Some(Handoff {
            chance: 0.25,
            reason: "suspected_fraud",
            destination: "fraud_team",
            user: &[
                "There's a payment I definitely didn't make.",
                "I think someone's been using it, there's money missing.",
            ],
            agent: &[
                "I'm going to connect you with our fraud team now, please hold.",
                "That needs our fraud specialists. Transferring you now.",
            ],
        }),
    },
    Scenario {
        name: "delivery_tracking",
        companies: &["Parcelly", "Swift Home Goods"],
        topic: "orders and deliveries",
        steps: &[
            step(
                "track_order",
                &[
                    "Where's my order? It was supposed to arrive yesterday.",
                    "Hi, I'm trying to track a parcel.",
                    "My delivery hasn't turned up.",
                ],
                &[
                    "I can look into that. What's your order number?",
                    "Sorry about the wait. Could you read me the order number?",
                ],
                &[],
            ),
            step(
                "provide_order_number",
                &[
                    "It's {order}.",
                    "Order number {order}.",
                    "Uh, let me see, {order}.",
                ],
                &[
                    "Thanks. Order {order} is with {carrier} and is out for delivery today before 6 pm.",
                    "I've found it. It was delayed at the {city} depot and should arrive {day}.",
                ],
                &["order"],
            ),
            step(
                "change_delivery",
                &[
                    "Can they leave it with a neighbour?",
                    "I won't be home, can it go to a pickup point?",
                    "Could you deliver it {day} instead?",
                ],
                &[
                    "Yes, I've updated the delivery instructions for you.",
                    "Done, it'll be held at your nearest pickup point and you'll get a text when it's ready.",
                ],
                &["day"],
            ),
        ],
        keypad: None,
        handoff: Some(Handoff {
            chance: 0.15,
            reason: "damaged_item",
            destination: "customer_care",
            user: &[
                "The last one arrived smashed, I want a refund.",
                "Actually the box was damaged when it came.",
            ],
            agent: &[
                "I'm sorry about that. Let me pass you to customer care who can arrange a refund.",
            ],
        }),
    },
    Scenario {
        name: "appointment_change",
        companies: &["Riverside Dental", "Oakwood Medical Group"],
        topic: "appointments",
        steps: &[
            step(
                "reschedule_appointment",
                &[
                    "I need to move my appointment.",
                    "Hi, I have an appointment with {doctor} and I can't make it.",
                    "Can I reschedule my check-up?",
                ],
                &[
                    "No problem. Can I have your full name and date of birth?",
                    "Sure, let's find you a new time. What's your name, please?",
                ],
                &["doctor"],
            ),
            step(
                "provide_name",
                &[
                    "{name}.",
                    "It's {name}, born {date} 1984.",
                    "My name is {name}.",
                ],
                &[
                    "Thanks {name}. I can see you're booked with {doctor} on {date}. When would work better?",
                    "Got it. Your current appointment is {date}. What day would you prefer?",
                ],
                &["name"],
            ),
            step(
                "provide_datetime",
                &[
                    "Anything {day} afternoon?",
                    "Is {day} at {time} free?",
                    "Maybe {day}, morning if possible.",
                ],
                &[
                    "{doctor} has {time} {day}. Shall I book that?",
                    "I have {day} at {time}. Does that work?",
                ],
                &["day", "time"],
            ),
            step(
                "confirm",
                &["Yes please.", "Perfect, book it.", "That works."],
                &[
                    "You're all set for {day} at {time}. We'll send a reminder the day before.",
                    "Booked. You'll get a text to confirm.",
                ],
                &[],
            ),
        ],
        keypad: None,
        handoff: None,
    },
    Scenario {
        name: "billing_dispute",
        companies: &["Brightline Energy", "Metro Mobile"],
        topic: "billing and payments",
        steps: &[
            step(
                "billing_question",
                &[
                    "My bill is way higher than usual this month.",
                    "I've been charged {amount} and I don't know why.",
                    "I want to dispute a charge on my bill.",
                ],
                &[
                    "I can help look into that. Can I have the name on the account?",
                    "Let's take a look. Who's the account holder?",
                ],
                &["amount"],
            ),
            step(
                "provide_name",
                &["{name}.", "It's under {name}."],
                &[
                    "Thanks. Your latest bill is {amount}, which includes a one-off late payment fee.",
                    "I can see the bill of {amount}. Part of that is an estimated reading.",
                ],
                &["name"],
            ),
            step(
                "request_refund",
                &[
                    "That's not right, I paid on time.",
                    "Can you remove that fee?",
                    "I'd like that refunded please.",
                ],
                &[
                    "I've raised a review of the charge. You'll hear back within 5 working days.",
                    "I can't remove it myself, but I've flagged it for the billing team.",
                ],
                &[],
            ),
        ],
        keypad: Some(Keypad {
            chance: 0.4,
            prompt: &["Please enter your six digit account number using the keypad."],
            digits: 6,
            entity: "account_number",
            confirm: &["Thank you, I've found your account."],
        }),
        handoff: Some(Handoff {
            chance: 0.35,
            reason: "billing_question",
            destination: "live_agent_queue",
            user: &[
                "I want to speak to a person about this.",
                "Can I talk to someone in billing?",
            ],
            agent: &[
                "Of course. I'll transfer you to our billing team now.",
                "Let me transfer you to a billing specialist.",
            ],
        }),
    },
    Scenario {
        name: "password_reset",
        companies: &["CloudNest", "Pixel Telecom"],
        topic: "your online account",
        steps: &[
            step(
                "reset_password",
                &[
                    "I'm locked out of my account.",
                    "I forgot my password and the reset email never came.",
                    "Can you help me log in? It says my password is wrong.",
                ],
                &[
                    "I can help with that. What's the email address on the account?",
                    "Sorry about that. Let's get you back in. What email do you use to sign in?",
                ],
                &[],
            ),
            step(
                "provide_email",
                &["It's {email}.", "{email}."],
                &[
                    "Thanks. I've sent a new reset link to {email}. It's valid for 30 minutes.",
                    "Done, a fresh link is on its way to {email}. Check your spam folder too.",
                ],
                &["email"],
            ),
            step(
                "confirm_received",
                &[
                    "Okay, got it, thanks.",
                    "Yep, it's just come through.",
                    "Still nothing... oh wait, there it is.",
                ],
                &[
                    "Great. Follow the link and choose a new password.",
                    "Perfect, you should be able to sign in now.",
                ],
                &[],
            ),
        ],
        keypad: None,
        handoff: Some(Handoff {
            chance: 0.1,
            reason: "account_locked",
            destination: "tech_support",
            user: &["It says my account has been suspended."],
            agent: &["That needs our technical support team. Transferring you now."],
        }),
    },
    Scenario {
        name: "insurance_claim",
        companies: &["Evergreen Insurance", "Shield Mutual"],
        topic: "claims and policies",
        steps: &[
            step(
                "start_claim",
                &[
                    "I need to make a claim, someone hit my car.",
                    "Hi, I'd like to report water damage in my kitchen.",
                    "I want to file a claim for a stolen bike.",
                ],
                &[
                    "I'm sorry to hear that. Are you and everyone involved safe?",
                    "Sorry that happened. I'll help you start the claim. Is everyone okay?",
                ],
                &[],
            ),
            step(
                "confirm_safe",
                &[
                    "Yes, everyone's fine.",
                    "Yeah, just shaken up.",
                    "We're okay, thanks.",
                ],
                &[
                    "Good. Can I take your name and the date it happened?",
                    "Glad to hear it. What's your name, and when did this happen?",
                ],
                &[],
            ),
            step(
                "provide_details",
                &[
                    "{name}, it happened on {date}.",
                    "It's {name}. It was {date}, in {city}.",
                ],
                &[
                    "Thanks {name}. I've opened a claim and a handler will call you within 24 hours.",
                    "Your claim is logged. You'll get an email with the reference shortly.",
                ],
                &["name", "date"],
            ),
        ],
        keypad: Some(Keypad {
            chance: 0.35,
            prompt: &["Please key in your eight digit policy number."],
            digits: 8,
            entity: "policy_number",
            confirm: &["Thanks, I can see your policy."],
        }),
        handoff: Some(Handoff {
            chance: 0.3,
            reason: "injury_reported",
            destination: "claims_handler",
            user: &["Actually my passenger hurt her neck."],
            agent: &["In that case I'll connect you directly with a claims handler. Please hold."],
        }),
    },
    Scenario {
        name: "hotel_booking",
        companies: &["Grand Harbour Hotel", "The Alpine Lodge"],
        topic: "reservations",
        steps: &[
            step(
                "book_room",
                &[
                    "Hi, I'd like to book a room for {nights} nights.",
                    "Do you have any rooms available from {date}?",
                    "I'm looking to stay {nights} nights starting {day}.",
                ],
                &[
                    "Certainly. What date are you arriving, and how many guests?",
                    "Let me check availability. When would you check in?",
                ],
                &["nights"],
            ),
            step(
                "provide_dates",
                &[
                    "Arriving {date}, two adults.",
                    "From {date}, just me.",
                    "{date}, and it's for {party} of us.",
                ],
                &[
                    "We have a double room with a sea view at {amount} a night. Would you like that?",
                    "I can offer a standard king at {amount} per night, breakfast included.",
                ],
                &["date", "amount"],
            ),
            step(
                "confirm_booking",
                &[
                    "Yes, book it under {name}.",
                    "Sounds good. The name is {name}.",
                ],
                &[
                    "Wonderful, {name}. Your reservation is confirmed and the details are on their way by email.",
                    "All booked, {name}. We look forward to welcoming you.",
                ],
                &["name"],
            ),
        ],
        keypad: None,
        handoff: Some(Handoff {
            chance: 0.1,
            reason: "group_booking",
            destination: "reservations_team",
            user: &["It's actually for a wedding party, about fifteen rooms."],
            agent: &["For group bookings let me transfer you to our reservations team."],
        }),
    },
    Scenario {
        name: "prescription_refill",
        companies: &["CareWell Pharmacy", "Main Street Chemist"],
        topic: "prescriptions",
        steps: &[
            step(
                "refill_prescription",
                &[
                    "I need a refill on my {drug}.",
                    "Hi, can I reorder my prescription?",
                    "I'm running low on {drug}.",
                ],
                &[
                    "I can help with that. Can I have your name and date of birth?",
                    "Sure. Who is the prescription for?",
                ],
                &["drug"],
            ),
            step(
                "provide_name",
                &["{name}, born {date} 1962.", "It's for {name}."],
                &[
                    "Thanks. I see {drug} prescribed by {doctor} with one refill left. Shall I send it through?",
                    "Found it: {drug}, from {doctor}. Would you like to pick it up or have it delivered?",
                ],
                &["name", "doctor"],
            ),
            step(
                "choose_pickup",
                &[
                    "I'll pick it up {day}.",
                    "Delivery please, to {street}.",
                    "Pickup is fine.",
                ],
                &[
                    "Done. It'll be ready {day} after 2 pm.",
                    "Great, it's on its way and should arrive within two days.",
                ],
                &["day"],
            ),
        ],
        keypad: None,
        handoff: Some(Handoff {
            chance: 0.15,
            reason: "pharmacist_question",
            destination: "pharmacist",
            user: &["Can I take it with ibuprofen?"],
            agent: &["That's a question for our pharmacist. Let me put you through."],
        }),
    },
    Scenario {
        name: "internet_outage",
        companies: &["FiberWave", "Pixel Telecom"],
        topic: "your broadband service",
        steps: &[
            step(
                "report_outage",
                &[
                    "My internet's been down since this morning.",
                    "The wifi keeps dropping out every few minutes.",
                    "Hi, I've got no broadband at all.",
                ],
                &[
                    "Sorry about that. Can you confirm the postcode or street of the property?",
                    "Let's get that sorted. What's the address of the connection?",
                ],
                &[],
            ),
            step(
                "provide_address",
                &["It's {street}, {city}.", "{street}."],
                &[
                    "Thanks. There's a known outage in {city} affecting your area. Engineers expect it fixed by 6 pm.",
                    "I can't see an outage there. Could you try turning the router off for thirty seconds and back on?",
                ],
                &["street", "city"],
            ),
            step(
                "troubleshoot",
                &[
                    "Okay, I've restarted it. The light is still red.",
                    "I already tried that.",
                    "Alright, it's back on now, thanks.",
                ],
                &[
                    "I've booked an engineer visit for {day}. You'll get a text with the time slot.",
                    "I've run a line test and reset the connection from our side. It should come back in a few minutes.",
                ],
                &["day"],
            ),
        ],
        keypad: None,
        handoff: Some(Handoff {
            chance: 0.2,
            reason: "technical_fault",
            destination: "tech_support",
            user: &["I work from home, I need this fixed today."],
            agent: &["I understand. Let me connect you to a technician straight away."],
        }),
    },
    Scenario {
        name: "flight_change",
        companies: &["SkyBridge Airways", "Atlantic Air"],
        topic: "bookings and flights",
        steps: &[
            step(
                "change_flight",
                &[
                    "I need to change my flight.",
                    "Hi, can I move my flight {flight} to a later date?",
                    "My flight to {city} was cancelled, what are my options?",
                ],
                &[
                    "I can help. What's the booking reference or flight number?",
                    "Sure. Which flight are you booked on?",
                ],
                &["city"],
            ),
            step(
                "provide_flight",
                &["It's {flight} on {date}.", "{flight}, under {name}."],
                &[
                    "Thanks. I can move you to {flight} on {day} at {time}. There's a fare difference of {amount}.",
                    "I found the booking. The next available flight is {day} at {time}, at no extra cost.",
                ],
                &["flight", "date"],
            ),
            step(
                "confirm_change",
                &[
                    "Okay, let's do that.",
                    "Fine, book it.",
                    "Is there nothing earlier?",
                ],
                &[
                    "Done. Your new boarding details are on their way by email.",
                    "Nothing earlier, I'm afraid. I've held the {day} seat for you.",
                ],
                &[],
            ),
        ],
        keypad: None,
        handoff: Some(Handoff {
            chance: 0.2,
            reason: "compensation_request",
            destination: "customer_relations",
            user: &["I want compensation for the cancellation."],
            agent: &["Compensation is handled by customer relations. I'll transfer you now."],
        }),
    },
    Scenario {
        name: "address_change",
        companies: &["Northwind Bank", "Brightline Energy", "Metro Mobile"],
        topic: "your account details",
        steps: &[
            step(
                "update_address",
                &[
                    "I've moved house and need to update my address.",
                    "Can I change the address on my account?",
                    "Hi, I'm moving next week, how do I update my details?",
                ],
                &[
                    "Congratulations on the move. Can I take your name first?",
                    "Sure. Let me pull up your account. What's your name?",
                ],
                &[],
            ),
            step(
                "provide_name",
                &["{name}.", "It's {name}."],
                &[
                    "Thanks {name}. What's the new address?",
                    "Got you, {name}. Go ahead with the new address.",
                ],
                &["name"],
            ),
            step(
                "provide_address",
                &[
                    "It's {street}, {city}.",
                    "{street}, in {city}, from {date}.",
                ],
                &[
                    "Updated. All future letters will go to {street}.",
                    "That's changed from {date}. You'll get a confirmation by email.",
                ],
                &["street", "city"],
            ),
        ],
        keypad: None,
        handoff: None,
    },
];

const fn fstep(
    intent: &'static str,
    user: (&'static str, &'static str),
    agent: (&'static str, &'static str),
    entities: &'static [&'static str],
) -> ForeignStep {
    ForeignStep {
        intent,
        user,
        agent,
        entities,
    }
}

/// Callers in other languages: the agent answers in kind and the API adds English translations.
pub const FOREIGN: &[ForeignScenario] = &[
    ForeignScenario {
        language: "es-ES",
        company: "Bella's Trattoria",
        steps: &[
            fstep(
                "greeting",
                ("", ""),
                (
                    "Hola, gracias por llamar a Bella's. ¿En qué puedo ayudarle?",
                    "Hello, thanks for calling Bella's. How can I help you?",
                ),
                &[],
            ),
            fstep(
                "book_table",
                (
                    "Quisiera reservar una mesa para {party} personas.",
                    "I would like to book a table for {party} people.",
                ),
                (
                    "Por supuesto. ¿Para qué día y a qué hora?",
                    "Of course. For which day and at what time?",
                ),
                &["party"],
            ),
            fstep(
                "provide_datetime",
                (
                    "Para mañana a las ocho de la noche.",
                    "For tomorrow at eight in the evening.",
                ),
                (
                    "Perfecto, tenemos mesa. ¿A nombre de quién?",
                    "Perfect, we have a table. Under what name?",
                ),
                &[],
            ),
            fstep(
                "provide_name",
                ("A nombre de {name}.", "Under the name {name}."),
                (
                    "Listo, {name}. Su reserva está confirmada. ¡Hasta mañana!",
                    "Done, {name}. Your booking is confirmed. See you tomorrow!",
                ),
                &["name"],
            ),
        ],
    },
    ForeignScenario {
        language: "es-MX",
        company: "Northwind Bank",
        steps: &[
            fstep(
                "greeting",
                ("", ""),
                (
                    "Gracias por llamar a Northwind Bank. ¿Cómo le puedo ayudar?",
                    "Thanks for calling Northwind Bank. How can I help you?",
                ),
                &[],
            ),
            fstep(
                "report_lost_card",
                (
                    "Perdí mi tarjeta de débito y quiero bloquearla.",
                    "I lost my debit card and want to block it.",
                ),
                (
                    "Lo siento mucho. ¿Me puede dar su nombre completo?",
                    "I'm very sorry. Can you give me your full name?",
                ),
                &[],
            ),
            fstep(
                "confirm_identity",
                ("Me llamo {name}.", "My name is {name}."),
                (
                    "Gracias. La tarjeta que termina en {last4} ya está bloqueada y le enviaremos una nueva.",
                    "Thank you. The card ending in {last4} is now blocked and we will send you a new one.",
                ),
                &["name", "last4"],
            ),
        ],
    },
    ForeignScenario {
        language: "fr-FR",
        company: "Parcelly",
        steps: &[
            fstep(
                "greeting",
                ("", ""),
                (
                    "Bonjour, merci d'avoir appelé Parcelly. Comment puis-je vous aider ?",
                    "Hello, thank you for calling Parcelly. How can I help you?",
                ),
                &[],
            ),
            fstep(
                "track_order",
                (
                    "Bonjour, mon colis n'est toujours pas arrivé.",
                    "Hello, my parcel still hasn't arrived.",
                ),
                (
                    "Je suis désolé. Quel est votre numéro de commande ?",
                    "I'm sorry. What is your order number?",
                ),
                &[],
            ),
            fstep(
                "provide_order_number",
                ("C'est le {order}.", "It's {order}."),
                (
                    "Merci. Votre colis sera livré demain avant midi.",
                    "Thank you. Your parcel will be delivered tomorrow before noon.",
                ),
                &["order"],
            ),
        ],
    },
];

/// The values of one slot.
pub fn slot_values(name: &str) -> &'static [&'static str] {
    SLOTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `{slot}` used in a script has values, so no placeholder can leak into a transcript.
    #[test]
    fn every_placeholder_has_values() {
        let mut lines: Vec<&str> = Vec::new();
        for s in SCENARIOS {
            for st in s.steps {
                lines.extend(st.user.iter().chain(st.agent.iter()));
                for e in st.entities {
                    assert!(!slot_values(e).is_empty(), "entity slot {e}");
                }
            }
        }
        for f in FOREIGN {
            for st in f.steps {
                lines.extend([st.user.0, st.user.1, st.agent.0, st.agent.1]);
            }
        }
        for line in lines {
            let mut rest = line;
            while let Some(i) = rest.find('{') {
                let j = rest[i..].find('}').expect("closed placeholder") + i;
                let name = &rest[i + 1..j];
                assert!(
                    name == "company" || name == "topic" || !slot_values(name).is_empty(),
                    "{name} in {line}"
                );
                rest = &rest[j + 1..];
            }
        }
        assert!(SCENARIOS.len() >= 12);
    }
}
