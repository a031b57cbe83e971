"""Fixed vocabularies of the synthetic force: police.uk categories (REFERENCE.md), names, streets.

Everything here is a public vocabulary (police.uk category names) or invented text; no real person or place data.
"""

from __future__ import annotations

FORCE_NAME = "Synthshire Police"
FORCE_SLUG = "synthshire"
RMS_SYSTEM = "synthshire-rms"
CUSTODY_SYSTEM = "synthshire-custody"
STOPS_SYSTEM = "synthshire-stopsearch"
PROBATION_SYSTEM = "synthshire-probation"
PERSON_SYSTEMS = (RMS_SYSTEM, CUSTODY_SYSTEM, STOPS_SYSTEM, PROBATION_SYSTEM)

# police.uk crime types (data.police.uk/about), with the synthetic force's long-run share of all records
# (ASB included). Shares are loosely modelled on a metropolitan force's police.uk mix.
CRIME_TYPES: dict[str, float] = {
    "Anti-social behaviour": 0.220,
    "Bicycle theft": 0.010,
    "Burglary": 0.045,
    "Criminal damage and arson": 0.080,
    "Drugs": 0.025,
    "Other crime": 0.018,
    "Other theft": 0.080,
    "Possession of weapons": 0.010,
    "Public order": 0.070,
    "Robbery": 0.012,
    "Shoplifting": 0.070,
    "Theft from the person": 0.012,
    "Vehicle crime": 0.060,
    "Violence and sexual offences": 0.288,
}
ASB = "Anti-social behaviour"
NEAR_REPEAT_TYPE = "Burglary"

# The force's own offence codes in the RMS export (translated back by the mapping TOML).
RMS_OFFENCE_CODES: dict[str, str] = {
    "Anti-social behaviour": "ASB",
    "Bicycle theft": "THF-CYC",
    "Burglary": "BUR",
    "Criminal damage and arson": "CDA",
    "Drugs": "DRG",
    "Other crime": "OTH",
    "Other theft": "THF-OTH",
    "Possession of weapons": "POW",
    "Public order": "PUB",
    "Robbery": "ROB",
    "Shoplifting": "SHOP",
    "Theft from the person": "TFP",
    "Vehicle crime": "VEH",
    "Violence and sexual offences": "VSO",
}

# Types whose victim is a person recorded in the RMS; burglary, criminal damage and vehicle crime victims are the
# residents of the street segment where it happened, the others are drawn from the whole population.
VICTIM_AT_HOME = ("Burglary", "Criminal damage and arson", "Vehicle crime")
VICTIM_ANYWHERE = ("Violence and sexual offences", "Robbery", "Theft from the person", "Other theft", "Bicycle theft")

# police.uk last-outcome categories (REFERENCE.md; all 26 are produced).
NO_SUSPECT = "Investigation complete; no suspect identified"
UNDER_INVESTIGATION = "Under investigation"
AWAITING_COURT = "Awaiting court outcome"
OUTCOME_CATEGORIES = (
    NO_SUSPECT,
    "Unable to prosecute suspect",
    "Status update unavailable",
    UNDER_INVESTIGATION,
    "Local resolution",
    "Court result unavailable",
    "Offender sent to prison",
    "Offender given a caution",
    "Offender given community sentence",
    "Defendant found not guilty",
    "Further investigation is not in the public interest",
    "Action to be taken by another organisation",
    AWAITING_COURT,
    "Court case unable to proceed",
    "Offender given suspended prison sentence",
    "Offender fined",
    "Offender given conditional discharge",
    "Formal action is not in the public interest",
    "Offender otherwise dealt with",
    "Suspect charged as part of another case",
    "Offender ordered to pay compensation",
    "Offender deprived of property",
    "Offender given absolute discharge",
    "Defendant sent to Crown Court",
    "Offender given penalty notice",
    "Offender given a drugs possession warning",
)

# Outcomes when no suspect is identified, and their shares.
UNSOLVED_OUTCOMES = {NO_SUSPECT: 0.95, "Status update unavailable": 0.02, "Action to be taken by another organisation": 0.03}
# Outcomes when a suspect is identified but not charged (out of court / dropped), and their shares.
SUSPECT_OUTCOMES = {
    "Unable to prosecute suspect": 0.55,
    "Further investigation is not in the public interest": 0.04,
    "Formal action is not in the public interest": 0.04,
    "Local resolution": 0.12,
    "Offender given a caution": 0.10,
    "Offender given penalty notice": 0.03,
    "Offender given a drugs possession warning": 0.04,   # drugs only; re-assigned to a caution for other types
    "Suspect charged as part of another case": 0.04,
    "Action to be taken by another organisation": 0.04,
}
# Final court results after "Awaiting court outcome", and their shares.
COURT_OUTCOMES = {
    "Offender sent to prison": 0.16,
    "Offender given community sentence": 0.16,
    "Offender given suspended prison sentence": 0.10,
    "Offender fined": 0.18,
    "Offender given conditional discharge": 0.07,
    "Offender given absolute discharge": 0.01,
    "Offender ordered to pay compensation": 0.03,
    "Offender deprived of property": 0.01,
    "Offender otherwise dealt with": 0.04,
    "Defendant found not guilty": 0.09,
    "Court case unable to proceed": 0.06,
    "Court result unavailable": 0.05,
    "Defendant sent to Crown Court": 0.04,
}
# Court results that put the offender on the probation caseload.
PROBATION_SENTENCES = ("Offender given community sentence", "Offender given suspended prison sentence", "Offender sent to prison")

# Probability a suspect is identified, and the share of identified suspects who are charged, by type.
DETECTION = {
    "Bicycle theft": (0.05, 0.35), "Burglary": (0.10, 0.45), "Criminal damage and arson": (0.12, 0.30),
    "Drugs": (0.85, 0.40), "Other crime": (0.30, 0.40), "Other theft": (0.10, 0.35),
    "Possession of weapons": (0.80, 0.65), "Public order": (0.35, 0.30), "Robbery": (0.15, 0.55),
    "Shoplifting": (0.45, 0.45), "Theft from the person": (0.05, 0.45), "Vehicle crime": (0.05, 0.45),
    "Violence and sexual offences": (0.40, 0.25),
}

# Seasonality: multiplier 1 + amplitude * cos(2*pi*(month - peak)/12); peak month 1-12.
SEASONALITY = {
    "Anti-social behaviour": (0.20, 7), "Violence and sexual offences": (0.12, 7), "Public order": (0.12, 7),
    "Criminal damage and arson": (0.08, 7), "Bicycle theft": (0.30, 7), "Burglary": (0.15, 12),
    "Vehicle crime": (0.08, 12), "Robbery": (0.10, 12), "Theft from the person": (0.10, 12),
}
# Trend: multiplicative change per year.
TRENDS = {"Shoplifting": 1.10, "Burglary": 0.94, "Theft from the person": 1.04, "Drugs": 0.95, "Anti-social behaviour": 0.96}

# Hour-of-day profiles (relative weights for hours 0..23).
_NIGHT = [6, 5, 4, 3, 2, 1, 1, 1, 2, 3, 3, 4, 4, 4, 4, 5, 5, 6, 7, 8, 9, 10, 10, 8]
_DAY = [1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 8, 7, 5, 4, 3, 2, 1, 1]
_EVENING = [3, 2, 2, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4]
HOUR_PROFILES = {
    "Violence and sexual offences": _NIGHT, "Public order": _NIGHT, "Anti-social behaviour": _EVENING,
    "Criminal damage and arson": _NIGHT, "Robbery": _EVENING, "Shoplifting": _DAY, "Theft from the person": _DAY,
    "Bicycle theft": _DAY, "Other theft": _DAY, "Burglary": _EVENING, "Vehicle crime": _NIGHT, "Drugs": _EVENING,
    "Possession of weapons": _EVENING, "Other crime": _DAY,
}

# Stop and search vocabularies (police.uk stop-and-search files).
SEARCH_TYPES = {"Person search": 0.85, "Person and Vehicle search": 0.12, "Vehicle search": 0.03}
ETHNIC_GROUPS = ("White", "Black", "Asian", "Other")
SELF_DEFINED = {
    "White": ["White - English/Welsh/Scottish/Northern Irish/British", "White - Any other White background", "White - Irish"],
    "Black": ["Black/African/Caribbean/Black British - African", "Black/African/Caribbean/Black British - Caribbean",
              "Black/African/Caribbean/Black British - Any other Black/African/Caribbean background"],
    "Asian": ["Asian/Asian British - Pakistani", "Asian/Asian British - Indian", "Asian/Asian British - Bangladeshi",
              "Asian/Asian British - Any other Asian background"],
    "Other": ["Mixed/Multiple ethnic groups - Any other Mixed/Multiple ethnic background", "Other ethnic group - Any other ethnic group"],
}
NOT_STATED = "Other ethnic group - Not stated"
AGE_RANGES = ("under 10", "10-17", "18-24", "25-34", "over 34")
OBJECTS = {  # object of search: (share, legislation)
    "Controlled drugs": (0.60, "Misuse of Drugs Act 1971 (section 23)"),
    "Offensive weapons": (0.16, "Police and Criminal Evidence Act 1984 (section 1)"),
    "Stolen goods": (0.12, "Police and Criminal Evidence Act 1984 (section 1)"),
    "Article for use in theft": (0.05, "Police and Criminal Evidence Act 1984 (section 1)"),
    "Articles for use in criminal damage": (0.03, "Police and Criminal Evidence Act 1984 (section 1)"),
    "Anything to threaten or harm anyone": (0.02, "Criminal Justice and Public Order Act 1994 (section 60)"),
    "Firearms": (0.02, "Firearms Act 1968 (section 47)"),
}
FIND_OUTCOMES = {"Arrest": 0.40, "Community resolution": 0.22, "Khat or Cannabis warning": 0.18,
                 "Summons / charged by post": 0.10, "Penalty Notice for Disorder": 0.05, "Caution (simple or conditional)": 0.05}
NFA = "A no further action disposal"

# Words for invented place and street names.
BOROUGH_NAMES = ("Northvale", "Eastmere", "Westbridge", "Southholm", "Oakhaven", "Millbrook", "Riverton", "Ashdown",
                 "Brackenfield", "Coldharbour", "Dunmere", "Elmstead", "Fernhill", "Greyford", "Hollowmead", "Ivybank",
                 "Juniper Vale", "Kingsmoor", "Larkrise", "Marshgate", "Netherby", "Orchard Cross", "Pennyford", "Quarrydale",
                 "Rookwood", "Stonecross", "Thornbury Vale", "Upperdale", "Wychwood", "Yarrowfield", "Beckside", "Hazelmoor")
STREET_WORDS = ("Acacia", "Alder", "Beech", "Birch", "Bramble", "Brook", "Canal", "Castle", "Cedar", "Chapel", "Cherry",
                "Church", "Clover", "Copper", "Cross", "Dale", "Elm", "Fern", "Field", "Forge", "Fox", "Garden", "Glebe",
                "Granary", "Hawthorn", "Hazel", "Heath", "High", "Hill", "Holly", "Kiln", "King", "Lark", "Laurel", "Lime",
                "Linden", "Maple", "Market", "Meadow", "Mill", "Moor", "Oak", "Orchard", "Park", "Pine", "Poplar", "Priory",
                "Queen", "Railway", "Rowan", "School", "Spring", "Station", "Sycamore", "Tannery", "Victoria", "Water",
                "Well", "Willow", "Wharf", "Wood", "Yew")
STREET_KINDS = ("Street", "Road", "Lane", "Avenue", "Close", "Way", "Grove", "Terrace", "Crescent", "Drive", "Place", "Row")

# Invented-enough names: common given names and surnames (no real individuals), grouped loosely.
FIRST_NAMES_M = ("James", "John", "David", "Michael", "Daniel", "Thomas", "Christopher", "Matthew", "Andrew", "Joseph",
                 "William", "Robert", "Richard", "Paul", "Mark", "Steven", "Jack", "Harry", "Oliver", "Samuel", "Liam",
                 "Ryan", "Connor", "Jamie", "Kyle", "Lewis", "Mohammed", "Ali", "Imran", "Hassan", "Arjun", "Rahul",
                 "Kwame", "Emmanuel", "Tyrone", "Marcus", "Piotr", "Tomasz", "Andrei", "Luca")
FIRST_NAMES_F = ("Sarah", "Emma", "Laura", "Rebecca", "Hannah", "Jessica", "Sophie", "Charlotte", "Amy", "Lauren", "Emily",
                 "Chloe", "Katie", "Rachel", "Elizabeth", "Margaret", "Susan", "Helen", "Claire", "Nicola", "Olivia",
                 "Grace", "Megan", "Jade", "Aisha", "Fatima", "Ayesha", "Priya", "Sana", "Amina", "Blessing", "Abena",
                 "Chantelle", "Keisha", "Agnieszka", "Anna", "Maria", "Ioana", "Elena", "Zara")
SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
            "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Harrison",
            "Lewis", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris", "King", "Watson", "Baker",
            "Harris", "Young", "Allen", "Mitchell", "Anderson", "Campbell", "Kelly", "Bailey", "Parker", "Shaw", "Holmes",
            "Kaur", "Singh", "Khan", "Ahmed", "Hussain", "Patel", "Begum", "Ali", "Shah", "Akhtar", "Mensah", "Okafor",
            "Adeyemi", "Campbell-Brown", "Boateng", "Francis", "Nowak", "Kowalski", "Popescu", "Rossi", "O'Brien",
            "McDonald", "Fitzgerald", "Barker", "Fletcher", "Gibson")
NICKNAMES = {"James": "Jim", "John": "Jack", "David": "Dave", "Michael": "Mike", "Daniel": "Dan", "Thomas": "Tom",
             "Christopher": "Chris", "Matthew": "Matt", "Andrew": "Andy", "Joseph": "Joe", "William": "Bill",
             "Robert": "Bob", "Richard": "Rick", "Steven": "Steve", "Samuel": "Sam", "Elizabeth": "Liz",
             "Margaret": "Maggie", "Rebecca": "Becky", "Jessica": "Jess", "Charlotte": "Lottie", "Katie": "Kate",
             "Nicola": "Nicky", "Sophie": "Soph"}
