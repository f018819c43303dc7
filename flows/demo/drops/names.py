"""Reference data of the synthetic bank: securities, people's names, places, labels.

Plain constants, no logic beyond transliteration. The generator (:mod:`flows.demo.drops`)
draws from these lists with its own seeded random numbers.

The DAX members carry their real names and ISINs: the body (country code and national
number, 11 characters) is stored, the check digit is always computed by the generator;
``DAX`` also records the check digit published with the real ISIN, so that a test can
prove the computation right.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class DaxMember(NamedTuple):
    name: str
    isin_body: str  # country code + 9 characters, without the check digit
    published_check_digit: int  # of the real ISIN; the generator never uses it
    price_eur: float  # a rough recent price level, only to make values plausible
    retail_rank: int  # how widely private clients hold it (1 = most), a rough guess


# The 40 DAX members as composed in recent years (2024/2025).
DAX: Final[tuple[DaxMember, ...]] = (
    DaxMember("adidas AG", "DE000A1EWWW", 0, 200.0, 16),
    DaxMember("Airbus SE", "NL000023519", 0, 170.0, 21),
    DaxMember("Allianz SE", "DE000840400", 5, 350.0, 1),
    DaxMember("BASF SE", "DE000BASF11", 1, 45.0, 5),
    DaxMember("Bayer AG", "DE000BAY001", 7, 27.0, 7),
    DaxMember("Beiersdorf AG", "DE000520000", 0, 120.0, 33),
    DaxMember("Bayerische Motoren Werke AG", "DE000519000", 3, 80.0, 10),
    DaxMember("Brenntag SE", "DE000A1DAHH", 0, 58.0, 38),
    DaxMember("Commerzbank AG", "DE000CBK100", 1, 30.0, 19),
    DaxMember("Continental AG", "DE000543900", 4, 70.0, 28),
    DaxMember("Daimler Truck Holding AG", "DE000DTR0CK", 8, 40.0, 24),
    DaxMember("Deutsche Bank AG", "DE000514000", 8, 28.0, 11),
    DaxMember("Deutsche Börse AG", "DE000581005", 5, 250.0, 22),
    DaxMember("DHL Group", "DE000555200", 4, 38.0, 15),
    DaxMember("Deutsche Telekom AG", "DE000555750", 8, 31.0, 4),
    DaxMember("E.ON SE", "DE000ENAG99", 9, 15.0, 12),
    DaxMember("Fresenius SE & Co. KGaA", "DE000578560", 4, 42.0, 26),
    DaxMember("Fresenius Medical Care AG", "DE000578580", 2, 45.0, 36),
    DaxMember("Hannover Rück SE", "DE000840221", 5, 270.0, 31),
    DaxMember("Heidelberg Materials AG", "DE000604700", 4, 190.0, 35),
    DaxMember("Henkel AG & Co. KGaA Vz.", "DE000604843", 2, 70.0, 27),
    DaxMember("Infineon Technologies AG", "DE000623100", 4, 33.0, 14),
    DaxMember("Mercedes-Benz Group AG", "DE000710000", 0, 55.0, 6),
    DaxMember("Merck KGaA", "DE000659990", 5, 115.0, 30),
    DaxMember("MTU Aero Engines AG", "DE000A0D9PT", 0, 330.0, 34),
    DaxMember("Münchener Rückversicherungs-Gesellschaft AG", "DE000843002", 6, 560.0, 13),
    DaxMember("Dr. Ing. h.c. F. Porsche AG Vz.", "DE000PAG911", 3, 45.0, 20),
    DaxMember("Porsche Automobil Holding SE Vz.", "DE000PAH003", 8, 35.0, 25),
    DaxMember("Qiagen N.V.", "NL0015002CX", 3, 40.0, 37),
    DaxMember("Rheinmetall AG", "DE000703003", 3, 1700.0, 8),
    DaxMember("RWE AG", "DE000703712", 9, 32.0, 18),
    DaxMember("SAP SE", "DE000716460", 0, 240.0, 2),
    DaxMember("Sartorius AG Vz.", "DE000716563", 1, 210.0, 40),
    DaxMember("Siemens AG", "DE000723610", 1, 210.0, 3),
    DaxMember("Siemens Energy AG", "DE000ENER6Y", 0, 95.0, 17),
    DaxMember("Siemens Healthineers AG", "DE000SHL100", 6, 47.0, 32),
    DaxMember("Symrise AG", "DE000SYM999", 9, 85.0, 39),
    DaxMember("Volkswagen AG Vz.", "DE000766403", 9, 95.0, 9),
    DaxMember("Vonovia SE", "DE000A1ML7J", 1, 27.0, 23),
    DaxMember("Zalando SE", "DE000ZAL111", 1, 27.0, 29),
)

# --- Generated companies -------------------------------------------------------------
# A name is "<prefix> <sector>[ <qualifier>] <legal form>"; (prefix, sector) pairs are
# unique within a region, qualifiers only come in when a very large universe needs them.

DE_PREFIXES: Final[tuple[str, ...]] = (
    "Rheintal", "Nordwind", "Alpen", "Elbtal", "Isar", "Hanse", "Weser", "Mosel",
    "Schwarzwald", "Taunus", "Harz", "Eifel", "Spree", "Mainufer", "Neckar", "Donau",
    "Bodensee", "Allgäu", "Ostsee", "Nordsee", "Sauerland", "Westfalen", "Franken",
    "Schwaben", "Lausitz", "Ruhrtal", "Saar", "Pfalz", "Havel", "Oder", "Innstadt", "Lech",
    "Ems", "Fulda", "Werra", "Altmühl", "Brocken", "Zugspitz", "Kaiserstuhl", "Odenwald",
    "Spessart", "Rhön", "Vogtland", "Erzgebirge", "Uckermark", "Wendland", "Ammersee",
    "Chiemgau", "Sylter", "Rügen", "Heide", "Geest", "Bergland", "Nordstern", "Südwind",
    "Ostwind", "Westwind", "Sonnenberg", "Adler", "Falken", "Greif", "Löwen", "Hirsch",
    "Eichen", "Linden", "Buchen", "Tannen", "Münsterland", "Steigerwald", "Weißenburg",
)  # fmt: skip
DE_SECTORS: Final[tuple[str, ...]] = (
    "Maschinenbau", "Energie", "Chemie", "Logistik", "Software", "Bau", "Pharma",
    "Versicherung", "Immobilien", "Automobil", "Stahl", "Elektronik", "Medizintechnik",
    "Textil", "Brauerei", "Lebensmittel", "Handel", "Verkehr", "Wasserwerke", "Solar",
    "Windkraft", "Kabelwerke", "Präzisionstechnik", "Optik", "Druck", "Papier", "Holz",
    "Glaswerke", "Keramik", "Kunststoff", "Spedition", "Telekom", "Digital", "Biotech",
    "Anlagenbau", "Werkzeugbau", "Armaturen", "Feinmechanik",
)  # fmt: skip
DE_FORMS: Final[tuple[tuple[str, float], ...]] = (("AG", 0.68), ("SE", 0.25), ("KGaA", 0.07))
DE_QUALIFIERS: Final[tuple[str, ...]] = ("Holding", "Gruppe", "Beteiligungen", "International")

EU_PREFIXES: Final[tuple[str, ...]] = (
    "Atlantica", "Baltica", "Iberia", "Lusitania", "Helvetia", "Nordica", "Scandia",
    "Alpina", "Adriatica", "Danubia", "Carpathia", "Celtica", "Batavia", "Flandria",
    "Lombardia", "Provence", "Toscana", "Bretagne", "Aurora", "Borealis", "Meridiana",
    "Orion", "Vega", "Polaris", "Sirius", "Aquila", "Cygnus", "Lyra", "Castor", "Pollux",
    "Andromeda", "Cassiopeia", "Europa", "Mistral", "Tramontana", "Sirocco", "Levante",
    "Aquitaine", "Savoia", "Brabant",
)  # fmt: skip
EU_SECTORS: Final[tuple[str, ...]] = (
    "Energia", "Telecom", "Pharma", "Logistics", "Banca", "Assicurazioni", "Industries",
    "Foods", "Chemicals", "Motors", "Steel", "Minerals", "Retail", "Media", "Aerospace",
    "Shipping", "Utilities", "Technologies", "Cement", "Paper", "Brewing", "Infrastructure",
    "Semiconductors", "Healthcare", "Renewables",
)  # fmt: skip
EU_QUALIFIERS: Final[tuple[str, ...]] = ("Group", "International", "Holding", "Europe")
# (country code, legal form) of the European issuers.
EU_COUNTRIES: Final[tuple[tuple[str, str], ...]] = (
    ("NL", "N.V."), ("FR", "S.A."), ("IT", "S.p.A."), ("ES", "S.A."), ("FI", "Oyj"),
    ("SE", "AB"), ("AT", "AG"), ("IE", "plc"), ("LU", "S.A."), ("BE", "SA/NV"), ("DK", "A/S"),
)  # fmt: skip

US_PREFIXES: Final[tuple[str, ...]] = (
    "Atlas", "Summit", "Pioneer", "Liberty", "Frontier", "Pacific", "Cascade", "Granite",
    "Silverline", "Redwood", "Evergreen", "Keystone", "Beacon", "Harbor", "Meridian",
    "Sterling", "Patriot", "Eagle", "Falcon", "Horizon", "Crescent", "Apex", "Vertex",
    "Zenith", "Quantum", "Titan", "Nova", "Sierra", "Everest", "Blue Ridge", "Great Lakes",
    "Lone Star", "Golden Gate", "Bay State", "Empire", "Hudson", "Potomac", "Mesa",
    "Prairie", "Ironwood",
)  # fmt: skip
US_SECTORS: Final[tuple[str, ...]] = (
    "Semiconductor", "Pharmaceuticals", "Software", "Networks", "Biosciences", "Energy",
    "Financial", "Health", "Robotics", "Aerospace", "Materials", "Foods", "Brands",
    "Logistics", "Data Systems", "Therapeutics", "Devices", "Capital", "Industries",
    "Motors", "Cloud", "Analytics", "Genomics", "Solar", "Payments",
)  # fmt: skip
US_FORMS: Final[tuple[tuple[str, float], ...]] = (("Inc.", 0.7), ("Corp.", 0.25), ("Co.", 0.05))
US_QUALIFIERS: Final[tuple[str, ...]] = ("Group", "International", "Holdings", "Technologies")

# --- Research --------------------------------------------------------------------------
# Analysts by region of the securities they cover (DE, EU, US), and the research units
# that sign a publication when no single analyst does.
ANALYSTS_DE: Final[tuple[str, ...]] = (
    "Dr. Anna Weber", "Markus Schäfer", "Dr. Jürgen Krüger", "Sophie Lehmann",
    "Thomas Brandt", "Katrin Gößmann", "Felix Hübner", "Dr. Henrik Lorenz",
    "Miriam Özdemir", "Stefan Weiß",
)  # fmt: skip
ANALYSTS_EU: Final[tuple[str, ...]] = (
    "Isabelle Laurent",
    "Marco Rossi",
    "Dr. Elena García",
    "Pieter de Vries",
    "Dr. Anna Weber",
)
ANALYSTS_US: Final[tuple[str, ...]] = ("Michael Carter", "Jennifer Brooks", "David Patel")
RESEARCH_UNITS: Final[tuple[str, ...]] = (
    "Research Equity DE",
    "Research Equity Europe",
    "Research Equity US",
)

# --- Rating scale ----------------------------------------------------------------------
# Best to worst, each with the labels of SPEC.md (German and English).
RATING_SCALE: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("strong_buy", ("Stark kaufen", "strong_buy")),
    ("buy", ("Kaufen", "buy", "outperform", "overweight", "Übergewichten")),
    ("neutral", ("Neutral", "hold", "Halten")),
    ("sell", ("Verkaufen", "sell", "underperform", "underweight", "Untergewichten")),
    ("strong_sell", ("Stark verkaufen", "strong_sell")),
)
GERMAN_RATING_LABELS: Final[frozenset[str]] = frozenset(
    {"Stark kaufen", "Kaufen", "Übergewichten", "Neutral", "Halten"}
    | {"Verkaufen", "Untergewichten", "Stark verkaufen"}
)


def normalise_rating(label: str) -> str | None:
    """The scale code (``buy``, ...) of a label, matched case- and space-insensitively."""
    wanted = label.strip().casefold()
    for code, labels in RATING_SCALE:
        if any(wanted == candidate.casefold() for candidate in labels):
            return code
    return None


# --- People ----------------------------------------------------------------------------
# Ordered roughly by frequency: the generator gives earlier names more weight.
GERMAN_FIRST_NAMES: Final[tuple[str, ...]] = (
    "Thomas", "Michael", "Andreas", "Stefan", "Sabine", "Anna", "Katharina", "Petra",
    "Jürgen", "Monika", "Frank", "Markus", "Christian", "Claudia", "Susanne", "Peter",
    "Klaus", "Ursula", "Wolfgang", "Andrea", "Birgit", "Julia", "Uwe", "Matthias",
    "Martin", "Laura", "Lena", "Sarah", "Alexander", "Tobias", "Sebastian", "Jörg",
    "Günter", "Björn", "Sören", "Florian", "Jan", "Lukas", "Felix", "Maximilian", "Jonas",
    "Paul", "Leon", "Hans-Jürgen", "Karl-Heinz", "Dieter", "Horst", "Manfred", "Rüdiger",
    "Bernd", "Holger", "Ralf", "Sven", "Timo", "Dirk", "Jens", "Heiko", "Volker", "Gerd",
    "Helmut", "Walter", "Werner", "Friedrich", "Lutz", "Niklas", "Moritz", "Fabian",
    "Benedikt", "Lea", "Hannah", "Sophie", "Marie", "Johanna", "Franziska", "Käthe",
    "Bärbel", "Jutta", "Gisela", "Renate", "Brigitte", "Heike", "Anke", "Silke", "Nicole",
    "Stefanie", "Christina", "Melanie", "Anja", "Katrin", "Daniela", "Kerstin", "Doris",
    "Elke", "Ingrid", "Ute", "Anna-Lena", "Lisa-Marie", "Mia", "Emma", "Clara", "Greta",
    "Frieda", "Ilse", "Jörn", "Gülsen", "Ayşe", "Mehmet", "Zoë", "René", "Gerhard",
    "Günther", "Hans-Peter", "Marlene", "Magdalena", "Wiebke", "Grete", "Ludger",
)  # fmt: skip
GERMAN_LAST_NAMES: Final[tuple[str, ...]] = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
    "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
    "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann",
    "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber",
    "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn",
    "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler",
    "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Simon",
    "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher", "Krämer", "Vogt", "Stein",
    "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber",
    "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn",
    "Busch", "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold", "Wolff", "Pfeiffer",
    "Gößmann", "Weißmüller", "Strauß", "Nußbaum", "Rößler", "Löffler", "Großkopf", "Süß",
    "Fröhlich", "Bär", "Höfer", "Dürr", "Gärtner", "Kästner", "Nöther", "Rühl", "Spieß",
    "Thürmer", "Wößner", "Özdemir", "Yılmaz", "Kowalski", "Nowak", "Schäuble", "Lübke",
    "Hölzl", "Mößbauer", "Zöllner", "Brückner", "Blümel", "Grün", "Kübler", "Hübner",
    "Glöckner", "Meyer-Lüdenscheidt", "Schmidt-Rüdiger", "Oßwald", "Heß", "Preuß",
)  # fmt: skip
ENGLISH_FIRST_NAMES: Final[tuple[str, ...]] = (
    "James", "Oliver", "Emily", "Sarah", "Michael", "Jennifer", "William", "Charlotte",
    "David", "Emma", "Olivia", "George", "Harry", "Jack", "Thomas", "Amelia", "Jessica",
    "Daniel", "Matthew", "Sophie", "Chloé", "Elizabeth", "Robert", "Mary", "Patricia",
    "John", "Richard", "Susan", "Karen", "Mark", "Paul", "Andrew", "Joshua", "Hannah",
    "Grace", "Ella", "Lucy", "Ruth", "Siobhan", "Sean", "Liam", "Noah", "Ava", "Isabella",
    "Ethan", "Mason", "Logan",
)  # fmt: skip
ENGLISH_LAST_NAMES: Final[tuple[str, ...]] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
    "Taylor", "Anderson", "Jackson", "White", "Harris", "Thompson", "Robinson", "Clark",
    "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker",
    "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips",
    "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy",
    "Cook", "Rogers", "O'Brien", "O'Connor", "MacDonald", "Davies", "Hughes", "Patel",
    "Khan", "Ward", "Watson", "Brooks", "Bennett", "Gray", "Price", "Wood",
)  # fmt: skip

# Branch cities, largest first; more branches than cities get numbered ("Filiale Berlin 2").
CITIES: Final[tuple[str, ...]] = (
    "Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf",
    "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden", "Hannover", "Nürnberg", "Duisburg",
    "Bochum", "Wuppertal", "Bielefeld", "Bonn", "Münster", "Mannheim", "Karlsruhe",
    "Augsburg", "Wiesbaden", "Mönchengladbach", "Gelsenkirchen", "Aachen", "Braunschweig",
    "Kiel", "Chemnitz", "Halle (Saale)", "Magdeburg", "Freiburg im Breisgau", "Krefeld",
    "Mainz", "Lübeck", "Erfurt", "Oberhausen", "Rostock", "Kassel", "Hagen", "Potsdam",
    "Saarbrücken", "Hamm", "Ludwigshafen", "Oldenburg", "Osnabrück", "Leverkusen",
    "Heidelberg", "Darmstadt", "Würzburg", "Regensburg", "Göttingen", "Ulm", "Ingolstadt",
)  # fmt: skip

# Only reserved example domains (RFC 2606 / RFC 6761) and their subdomains: never a
# real mail provider.
CLIENT_EMAIL_DOMAINS: Final[tuple[str, ...]] = (
    "example.com", "example.org", "example.net", "mail.example.com", "post.example.net",
    "web.example.org", "online.example.com", "kunden.example",
)  # fmt: skip
BANK_EMAIL_DOMAIN: Final[str] = "bank.example.com"

_TRANSLITERATION: Final[dict[str, str]] = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ë": "e", "ê": "e",
    "á": "a", "à": "a", "â": "a", "ç": "c", "ş": "s", "ğ": "g", "ı": "i", "ñ": "n",
    "ó": "o", "ø": "oe", "å": "aa", "í": "i", "ú": "u", "'": "", " ": "-", "(": "", ")": "",
}  # fmt: skip


def transliterate(text: str) -> str:
    """Lower-case ASCII form of a name for an email address: ``Gößmann`` -> ``goessmann``."""
    return "".join(_TRANSLITERATION.get(ch, ch) for ch in text.lower())
