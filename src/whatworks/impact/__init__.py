"""whatworks.impact"""
