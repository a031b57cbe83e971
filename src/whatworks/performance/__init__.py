"""whatworks.performance"""
