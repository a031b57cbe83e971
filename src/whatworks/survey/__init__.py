"""whatworks.survey"""
