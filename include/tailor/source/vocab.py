"""Small built-in word lists the synthetic shop is made of.

Kept in code (no network, no Faker) so a seed is reproducible anywhere. The
lists are deliberately short: realism comes from how they are combined and
weighted in :mod:`tailor.source.generate`, not from their length.
"""

from __future__ import annotations

import unicodedata

FEMALE_FIRST = (
    "Anna", "Marie", "Sophie", "Laura", "Julia", "Lena", "Emma", "Mia", "Hannah", "Lea",
    "Sarah", "Lisa", "Katharina", "Claire", "Camille", "Chloé", "Léa", "Manon", "Inès", "Zoé",
    "Sanne", "Femke", "Lotte", "Eva", "Elena", "Lucía", "María", "Carmen", "Paula", "Sofia",
    "Giulia", "Chiara", "Francesca", "Alice", "Olivia", "Amelia", "Isla", "Grace", "Emily", "Ava",
    "Maja", "Ida", "Freya", "Nora", "Zuzana", "Agnieszka", "Aylin", "Fatima", "Yasmin", "Mila",
)
MALE_FIRST = (
    "Lukas", "Leon", "Finn", "Jonas", "Paul", "Felix", "Maximilian", "Tim", "Jan", "Niklas",
    "Thomas", "Michael", "Hugo", "Louis", "Gabriel", "Jules", "Arthur", "Théo", "Lucas", "Noah",
    "Daan", "Sem", "Bram", "Luuk", "Pablo", "Javier", "Álvaro", "Mateo", "Marco", "Luca",
    "Matteo", "Alessandro", "Oliver", "George", "Harry", "Jack", "Oscar", "William", "Erik",
    "Magnus", "Lars", "Piotr", "Tomasz", "Mehmet", "Emre", "Ali", "Omar", "David", "Samuel", "Elias",
)
NEUTRAL_FIRST = ("Alex", "Sam", "Robin", "Kim", "Charlie", "Noa", "Jo", "Luca", "Eden", "Sascha")

LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schröder", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Braun", "Zimmermann",
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Lefèvre", "Fontaine", "de Jong", "Jansen", "de Vries", "van den Berg", "Bakker",
    "Visser", "Smit", "Meijer", "García", "Fernández", "González", "Rodríguez", "López",
    "Martínez", "Sánchez", "Pérez", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano",
    "Colombo", "Ricci", "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson",
    "Davies", "Evans", "O'Brien", "Andersson", "Johansson", "Nielsen", "Hansen", "Kowalski",
    "Nowak", "Novák", "Yılmaz",  # noqa: RUF001 (a real Turkish name) "Kaya", "Demir", "Huber", "Gruber", "Bauer", "Pichler", "Moser",
)

# city, country (ISO 3166-1 alpha-2), IANA timezone, postcode pattern (# = digit,
# A = letter), phone prefix, relative population weight.
CITIES = (
    ("Berlin", "DE", "Europe/Berlin", "1####", "+49 30", 9),
    ("Hamburg", "DE", "Europe/Berlin", "2####", "+49 40", 5),
    ("München", "DE", "Europe/Berlin", "8####", "+49 89", 5),
    ("Köln", "DE", "Europe/Berlin", "5####", "+49 221", 4),
    ("Frankfurt am Main", "DE", "Europe/Berlin", "6####", "+49 69", 3),
    ("Leipzig", "DE", "Europe/Berlin", "04###", "+49 341", 2),
    ("Stuttgart", "DE", "Europe/Berlin", "7####", "+49 711", 2),
    ("Wien", "AT", "Europe/Vienna", "1###", "+43 1", 4),
    ("Graz", "AT", "Europe/Vienna", "8###", "+43 316", 1),
    ("Zürich", "CH", "Europe/Zurich", "8###", "+41 44", 2),
    ("Paris", "FR", "Europe/Paris", "75###", "+33 1", 7),
    ("Lyon", "FR", "Europe/Paris", "69###", "+33 4", 3),
    ("Marseille", "FR", "Europe/Paris", "13###", "+33 4", 3),
    ("Toulouse", "FR", "Europe/Paris", "31###", "+33 5", 2),
    ("Amsterdam", "NL", "Europe/Amsterdam", "10## AA", "+31 20", 4),
    ("Rotterdam", "NL", "Europe/Amsterdam", "30## AA", "+31 10", 2),
    ("Utrecht", "NL", "Europe/Amsterdam", "35## AA", "+31 30", 1),
    ("Bruxelles", "BE", "Europe/Brussels", "1###", "+32 2", 2),
    ("Antwerpen", "BE", "Europe/Brussels", "2###", "+32 3", 1),
    ("Madrid", "ES", "Europe/Madrid", "28###", "+34 91", 5),
    ("Barcelona", "ES", "Europe/Madrid", "08###", "+34 93", 4),
    ("Valencia", "ES", "Europe/Madrid", "46###", "+34 96", 2),
    ("Roma", "IT", "Europe/Rome", "00###", "+39 06", 4),
    ("Milano", "IT", "Europe/Rome", "20###", "+39 02", 4),
    ("Torino", "IT", "Europe/Rome", "10###", "+39 011", 2),
    ("London", "GB", "Europe/London", "AA# #AA", "+44 20", 8),
    ("Manchester", "GB", "Europe/London", "M## #AA", "+44 161", 2),
    ("Dublin", "IE", "Europe/Dublin", "D## A###", "+353 1", 2),
    ("København", "DK", "Europe/Copenhagen", "1###", "+45", 2),
    ("Stockholm", "SE", "Europe/Stockholm", "1## ##", "+46 8", 2),
    ("Warszawa", "PL", "Europe/Warsaw", "0#-###", "+48 22", 3),
    ("Praha", "CZ", "Europe/Prague", "1## ##", "+420 2", 2),
    ("Lisboa", "PT", "Europe/Lisbon", "1###-###", "+351 21", 2),
    ("Helsinki", "FI", "Europe/Helsinki", "00###", "+358 9", 1),
    ("Istanbul", "TR", "Europe/Istanbul", "34###", "+90 212", 2),
    ("New York", "US", "America/New_York", "10###", "+1 212", 3),
    ("Toronto", "CA", "America/Toronto", "M#A #A#", "+1 416", 1),
)

EMAIL_DOMAINS = (
    ("gmail.com", 30), ("web.de", 8), ("gmx.de", 8), ("outlook.com", 8), ("yahoo.com", 5),
    ("hotmail.com", 5), ("icloud.com", 6), ("orange.fr", 3), ("free.fr", 2), ("libero.it", 2),
    ("t-online.de", 3), ("proton.me", 2), ("ziggo.nl", 1), ("telefonica.es", 1), ("mail.com", 1),
)
GUEST_DOMAINS = ("gmail.com", "outlook.com", "icloud.com", "gmx.de", "yahoo.com")

# (category_id, name, parent_id); leaves carry the products.
CATEGORIES = (
    (1, "Women", None), (2, "Men", None), (3, "Home & Living", None), (4, "Sports & Outdoor", None),
    (10, "Women's Dresses", 1), (11, "Women's Shoes", 1), (12, "Women's Bags", 1),
    (20, "Men's Shirts", 2), (21, "Men's Shoes", 2), (22, "Men's Jackets", 2),
    (30, "Kitchen", 3), (31, "Bedding", 3), (32, "Decor", 3),
    (40, "Running", 4), (41, "Camping", 4),
)
# leaf category -> (nouns, price range in EUR)
PRODUCT_LINES = {
    10: (("Wrap Dress", "Midi Dress", "Maxi Dress", "Shirt Dress", "Knit Dress"), (29, 149)),
    11: (("Ankle Boots", "Ballet Flats", "Sneakers", "Sandals", "Loafers"), (35, 189)),
    12: (("Tote Bag", "Crossbody Bag", "Backpack", "Clutch", "Shopper"), (25, 249)),
    20: (("Oxford Shirt", "Linen Shirt", "Flannel Shirt", "Polo Shirt", "Denim Shirt"), (25, 99)),
    21: (("Chelsea Boots", "Derby Shoes", "Sneakers", "Loafers", "Trail Shoes"), (49, 199)),
    22: (("Rain Jacket", "Puffer Jacket", "Bomber Jacket", "Wool Coat", "Denim Jacket"), (59, 299)),
    30: (("Chef's Knife", "Cast Iron Pan", "Espresso Cups", "Cutting Board", "Dutch Oven"), (9, 179)),
    31: (("Duvet Cover", "Linen Sheets", "Pillow", "Throw Blanket", "Mattress Topper"), (19, 229)),
    32: (("Vase", "Table Lamp", "Wall Mirror", "Scented Candle", "Cushion Cover"), (9, 149)),
    40: (("Running Shoes", "Running Tights", "Running Vest", "Sports Watch", "Cap"), (15, 249)),
    41: (("Tent", "Sleeping Bag", "Camping Stove", "Headlamp", "Daypack"), (19, 399)),
}
PRODUCT_ADJECTIVES = (
    "Classic", "Essential", "Organic", "Recycled", "Premium", "Everyday", "Nordic", "Urban",
    "Vintage", "Lightweight", "Merino", "Coastal", "Alpine", "Studio", "Heritage",
)
PRODUCT_COLOURS = ("Black", "Navy", "Sand", "Olive", "White", "Terracotta", "Grey", "Sage")
PRODUCTS_PER_LEAF = 27

INTERESTS = (
    "fashion", "shoes", "bags", "menswear", "home_decor", "cooking", "sleep", "running",
    "camping", "sustainability", "sales", "new_arrivals",
)

# device type -> (share, ((os, browser, user agent, weight), ...))
DEVICES = {
    "mobile": (0.55, (
        ("iOS", "Safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 45),
        ("Android", "Chrome", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 35),
        ("Android", "Samsung Internet", "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", 12),
        ("iOS", "Tailor Shop App", "TailorShop/5.3.1 (iPhone15,2; iOS 17.4; Scale/3.00)", 8),
    )),
    "desktop": (0.35, (
        ("Windows", "Chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 45),
        ("Windows", "Edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", 15),
        ("macOS", "Safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 20),
        ("macOS", "Chrome", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 10),
        ("Linux", "Firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 10),
    )),
    "tablet": (0.10, (
        ("iPadOS", "Safari", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 70),
        ("Android", "Chrome", "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 30),
    )),
}

REFERRERS = (
    "", "https://www.google.com/", "https://www.instagram.com/", "https://www.facebook.com/",
    "https://www.pinterest.com/", "https://mail.shop.example/", "https://www.bing.com/",
)
INCOME_BANDS = ("low", "lower_middle", "upper_middle", "high")

# Local hour-of-day weights (0..23): when people shop online.
SHOPPING_HOURS = (
    1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3.5, 4, 4.5,
    5.5, 5, 4.5, 4.5, 5, 5.5, 6.5, 8, 9, 8.5, 6, 3,
)
# Weekday weights, Monday first: Sunday and Monday evenings are busiest.
WEEKDAY_WEIGHTS = (1.1, 1.0, 0.95, 0.95, 0.9, 0.85, 1.15)
# Month weights, January first: Black Friday / Christmas peak, summer dip.
MONTH_WEIGHTS = (0.85, 0.8, 0.9, 0.95, 1.0, 0.9, 0.85, 0.85, 0.95, 1.05, 1.45, 1.6)


def ascii_fold(text: str) -> str:
    """Lower-case ASCII form of a name, for building email local parts."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())
