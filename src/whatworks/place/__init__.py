"""whatworks.place"""
