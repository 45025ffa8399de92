"""Pure media domain: probing, signals, highlights, render graphs, cards and QR codes.

No database and no web code lives here.
"""
