"""The SaaS surface (DESIGN.md §4): the admin API, onboarding and the firm's web page."""
