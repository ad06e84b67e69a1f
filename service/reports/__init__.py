"""The report an office files each month, quarter or year (Decision 104/2024 art. 12.2, 15):
one parent agency's children ranked, in DOCX and PDF.

data.py gathers the figures from the scoring services (it computes no rule itself);
words.py says them in Vietnamese; charts.py draws them; docx.py and pdf.py lay them out.
"""
