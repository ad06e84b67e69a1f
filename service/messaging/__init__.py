"""Invitations and one reminder sent to citizens by e-mail, SMS and Zalo ZNS."""
