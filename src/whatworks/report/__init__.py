"""whatworks.report"""
