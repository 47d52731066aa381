"""Writes Mneme's demo corpus: a year (2024) of Sam's journal, chats and e-mail, with a life in it that the
analysis should find: a new job in March, Saturday morning runs, a trip to Lisbon in June, a low stretch in
September after a breakup, a marathon in October, a move in November; a sister (Lena), a close friend (Omar),
a colleague (Priya). Deterministic: run it again and the files come out the same.

    python3 orchestrator/demo/generate.py
"""
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
rng = random.Random(2024)
journal = []  # (datetime, text)

def sentence(text):
    return text[0].upper() + text[1:]

def at(day, hour, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute)

# Saturday morning runs all year, longer before the marathon, none in the low weeks of September.
run_routes = ["along the river", "around the park", "up to the reservoir", "by the canal", "through the old town"]
run_feelings = ["legs felt strong", "slow but steady", "felt great afterwards", "cold hands, happy heart",
                "new personal best on the hill", "hard going, glad I went"]
day = date(2024, 1, 6)
while day.year == 2024:
    if not (date(2024, 9, 7) <= day <= date(2024, 9, 28)) and rng.random() < 0.85:
        km = 6 + rng.randint(0, 4) if day < date(2024, 7, 1) else 12 + rng.randint(0, 14)
        journal.append((at(day, 7, rng.randint(5, 50)),
                        f"Saturday run, {km}k {rng.choice(run_routes)}. {sentence(rng.choice(run_feelings))}."))
    day += timedelta(days=7)

# Thursday pottery evenings from February.
pottery = ["Pottery class: centred the clay first try for once.", "Pottery: threw two small bowls, one collapsed.",
           "Pottery class, glazing night. Chose a deep green.", "Pottery: my mug handles are finally even.",
           "Pottery class was quiet tonight, just me and the wheel.", "Pottery: the kiln cracked my vase. Oh well."]
day = date(2024, 2, 1)
while day.year == 2024:
    if rng.random() < 0.6 and not (date(2024, 9, 5) <= day <= date(2024, 9, 26)):
        journal.append((at(day, 20, rng.randint(0, 40)), rng.choice(pottery)))
    day += timedelta(days=7)

events = [
    ("2024-01-03 21:10", "New year, new notebook. I want to run a marathon this year and find a job I actually like."),
    ("2024-01-15 22:05", "Another long day at the agency writing copy for banner ads. I'm so tired of it."),
    ("2024-01-28 19:30", "Lunch with Lena. She's thinking of moving to Lisbon with Tom. I'd miss her terribly."),
    ("2024-02-09 18:45", "Applied to Fieldwork, the design studio in Shoreditch. Fingers crossed."),
    ("2024-02-20 17:20", "First interview at Fieldwork went well! They liked my museum signage idea."),
    ("2024-02-29 12:40", "I got the job at Fieldwork! I start on the 11th of March. Called Mum, she cried."),
    ("2024-03-08 18:00", "Last day at the agency. Cake, a card, and a strange sense of relief."),
    ("2024-03-11 19:15", "First day at Fieldwork. Met Priya, who runs the museum project. Nervous but happy."),
    ("2024-03-22 21:00", "Two weeks in. The team is kind and the work matters. I feel lucky."),
    ("2024-04-06 16:30", "Omar's birthday picnic in the park. Biscuit stole a whole sausage roll."),
    ("2024-04-19 22:30", "Deadline for the Natural History Museum signage. Stayed late with Priya, we made it."),
    ("2024-05-04 20:10", "Grandma's 91st. She still makes the cabbage rolls herself and refuses help."),
    ("2024-05-25 18:20", "Booked flights to Lisbon to visit Lena in June. Can't wait."),
    ("2024-06-12 22:40", "Lisbon, day one. Lena's flat in Alfama looks over the river. Pastel de nata for dinner."),
    ("2024-06-13 21:15", "Tram 28 with Lena, then the tiles museum. Happiest I've been in months."),
    ("2024-06-15 23:00", "Fado in a tiny bar with Lena and Tom. I cried at a song I didn't understand."),
    ("2024-06-17 20:00", "Back from Lisbon. Already miss the light there."),
    ("2024-07-13 19:00", "Signed up for the Richmond marathon in October. Training plan on the fridge."),
    ("2024-08-03 21:30", "Dinner with Jonas at the Italian by the station. Things feel a bit distant between us."),
    ("2024-08-24 22:15", "Jonas and I argued about the move again. He wants the city, I want space."),
    ("2024-09-03 23:40", "Jonas and I broke up tonight. It was kind, and it was right, and it hurts."),
    ("2024-09-06 22:00", "Couldn't face the run or the pottery class this week. Everything feels grey."),
    ("2024-09-12 21:45", "Omar came round with soup and made me walk Biscuit with him. It helped a little."),
    ("2024-09-19 22:30", "Bad week. Slept badly, cried on the bus. Lena called every evening."),
    ("2024-09-29 10:00", "First run in weeks. Slow and sad and good. I'll keep going."),
    ("2024-10-12 18:00", "Twenty miles on the long run today. My knees are complaining but I'm ready."),
    ("2024-10-20 16:00", "Ran the Richmond marathon! 4 hours 12. Omar and Lena at mile 20 with a sign. Best day of the year."),
    ("2024-11-02 19:30", "Found a new flat with a little garden, near the reservoir path. Moving in three weeks."),
    ("2024-11-23 21:00", "Moving day. Forty boxes, one broken lamp, and Omar's back is not happy with me."),
    ("2024-11-30 20:15", "First dinner in the new flat. Priya and Omar came. It already feels like home."),
    ("2024-12-14 19:40", "Fieldwork Christmas party. Priya says I'll lead the next museum project. Proud."),
    ("2024-12-24 22:00", "Christmas Eve at Mum's. Lena flew in from Lisbon. Grandma beat us all at cards."),
    ("2024-12-31 23:30", "What a year: a new job, a broken heart, a marathon, a new home. Grateful."),
]
for stamp, text in events:
    journal.append((datetime.strptime(stamp, "%Y-%m-%d %H:%M"), text))

journal.sort()
lines = ["# Sam's journal, 2024", ""]
for stamp, text in journal:
    lines.append(f"## {stamp:%Y-%m-%d %H:%M}")
    lines.append(text)
    lines.append("")
(HERE / "journal.md").write_text("\n".join(lines), encoding="utf-8")

chats = {"conversations": [
    {"id": "omar", "title": "Sam and Omar", "sessions": [
        {"date_time": "2024-02-29T13:00:00Z", "turns": [
            {"speaker": "Sam", "text": "I got the Fieldwork job!!"},
            {"speaker": "Omar", "text": "YES! I knew it. Drinks on Friday, my treat."},
            {"speaker": "Sam", "text": "Deal. I start on the 11th, I'm terrified."},
            {"speaker": "Omar", "text": "You'll be brilliant. Biscuit says congratulations too."}]},
        {"date_time": "2024-09-04T09:00:00Z", "turns": [
            {"speaker": "Sam", "text": "Jonas and I broke up last night."},
            {"speaker": "Omar", "text": "Oh Sam. I'm so sorry. Do you want company?"},
            {"speaker": "Sam", "text": "Maybe later this week. I just want to sleep now."},
            {"speaker": "Omar", "text": "I'll bring soup on Thursday. No arguments."}]},
        {"date_time": "2024-10-20T18:00:00Z", "turns": [
            {"speaker": "Omar", "text": "MARATHONER! How are the legs?"},
            {"speaker": "Sam", "text": "Destroyed. Happy. Thank you for the sign at mile 20, I nearly cried."},
            {"speaker": "Omar", "text": "Lena made it, I just held it. Proud of you."}]},
        {"date_time": "2024-11-23T20:00:00Z", "turns": [
            {"speaker": "Omar", "text": "My back will never forgive you for that sofa."},
            {"speaker": "Sam", "text": "I owe you dinner forever. The new flat is lovely though."}]},
    ]},
    {"id": "lena", "title": "Sam and Lena", "sessions": [
        {"date_time": "2024-01-28T21:00:00Z", "turns": [
            {"speaker": "Lena", "text": "Tom got the job in Lisbon. We're really going."},
            {"speaker": "Sam", "text": "I'm happy for you and sad for me. When?"},
            {"speaker": "Lena", "text": "April. You have to visit in the summer."}]},
        {"date_time": "2024-06-18T20:00:00Z", "turns": [
            {"speaker": "Lena", "text": "The flat is so quiet without you."},
            {"speaker": "Sam", "text": "I miss Lisbon already. And the pasteis."},
            {"speaker": "Lena", "text": "Come back for my birthday in October?"},
            {"speaker": "Sam", "text": "The marathon is that week, but I'll come in December."}]},
        {"date_time": "2024-09-10T21:30:00Z", "turns": [
            {"speaker": "Lena", "text": "How are you today, really?"},
            {"speaker": "Sam", "text": "Grey. I haven't run in a week and I can't face pottery."},
            {"speaker": "Lena", "text": "Be gentle with yourself. I'll call tomorrow, and the day after."}]},
    ]},
    {"id": "priya", "title": "Sam and Priya", "sessions": [
        {"date_time": "2024-04-18T17:00:00Z", "turns": [
            {"speaker": "Priya", "text": "The museum wants the signage files by tomorrow noon."},
            {"speaker": "Sam", "text": "Then we stay late. I'll order dumplings."},
            {"speaker": "Priya", "text": "You're the best. The deep sea gallery will look amazing."}]},
        {"date_time": "2024-12-13T16:00:00Z", "turns": [
            {"speaker": "Priya", "text": "Can I tell you something before the party? You're leading the next museum project."},
            {"speaker": "Sam", "text": "Really? I don't know what to say. Thank you."},
            {"speaker": "Priya", "text": "Say yes and bring your green mugs to the office."}]},
    ]},
]}
(HERE / "chats.json").write_text(json.dumps(chats, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

mails = [
    ("hr@fieldwork.studio", "Fieldwork HR", "Your offer from Fieldwork", "2024-02-29 11:30",
     "Dear Sam,\n\nWe are delighted to offer you the role of designer at Fieldwork, starting on 11 March 2024.\nPlease find the contract attached.\n\nBest wishes,\nFieldwork HR"),
    ("races@richmondmarathon.org", "Richmond Marathon", "Your place in the Richmond Marathon", "2024-07-13 10:05",
     "Hi Sam,\n\nThank you for entering the Richmond Marathon on 20 October 2024. Your bib number is 4127.\n\nSee you at the start!"),
    ("lena@example.com", "Lena", "Lisbon plans", "2024-05-26 09:40",
     "Sam! So happy you're coming. I've planned tram 28, the tiles museum and a fado night. Bring comfy shoes.\n\nLena"),
    ("lettings@homes.example", "Greenway Lettings", "Tenancy agreement, 14 Reservoir Road", "2024-11-04 15:20",
     "Dear Sam,\n\nPlease find attached the tenancy agreement for 14 Reservoir Road, starting 23 November 2024.\n\nKind regards,\nGreenway Lettings"),
    ("priya@fieldwork.studio", "Priya", "Museum signage: we did it", "2024-04-20 09:15",
     "Sam,\n\nThe museum loved the deep sea signage. Thank you for the late night, the dumplings and the calm.\n\nPriya"),
    ("mum@example.com", "Mum", "Christmas", "2024-12-02 18:00",
     "Darling, Lena is flying in on the 23rd. Grandma wants to play cards again. Bring the green mug for her, she loved it.\n\nLove, Mum"),
]
out = []
for number, (address, name, subject, stamp, body) in enumerate(mails, 1):
    when = datetime.strptime(stamp, "%Y-%m-%d %H:%M")
    out.append(f"From {address} {when:%a %b %d %H:%M:%S %Y}")
    out.append(f"From: {name} <{address}>")
    out.append("To: Sam <sam@example.com>")
    out.append(f"Subject: {subject}")
    out.append(f"Date: {when:%a, %d %b %Y %H:%M:%S} +0000")
    out.append(f"Message-ID: <{when:%Y%m%d%H%M}.{number}@demo.mneme>")
    out.append("")
    out.extend(body.splitlines())
    out.append("")
(HERE / "mail.mbox").write_text("\n".join(out) + "\n", encoding="utf-8")
print(len(journal), "journal entries,", sum(len(s["turns"]) for c in chats["conversations"] for s in c["sessions"]), "chat turns,", len(mails), "e-mails")
