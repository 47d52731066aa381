"""Writes english_frequencies.tsv: the 10,000 most frequent English words and their frequency per million
words, from wordfreq (https://github.com/rspeer/wordfreq; data CC BY-SA 4.0).

    python3 -m pip install wordfreq==3.1.1 && python3 build.py
"""

import re

from wordfreq import top_n_list, word_frequency

WORD = re.compile(r"^[a-z][a-z']*$")

with open("english_frequencies.tsv", "w", encoding="utf-8") as out:
    out.write("# word\tper_million (wordfreq 3.1.1, English, 'best' wordlist; CC BY-SA 4.0)\n")
    for word in top_n_list("en", 12_000):
        if WORD.match(word):
            out.write(f"{word}\t{word_frequency(word, 'en') * 1e6:.2f}\n")
