"""whatworks.app"""
