"""whatworks.trials"""
