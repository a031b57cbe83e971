"""whatworks.synth"""
