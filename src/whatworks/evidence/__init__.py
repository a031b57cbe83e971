"""whatworks.evidence"""
