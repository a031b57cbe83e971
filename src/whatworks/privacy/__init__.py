"""whatworks.privacy"""
