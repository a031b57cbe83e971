"""whatworks.people"""
