"""AWS on moto: the resources template.yaml declares, and the speed-ups that keep moto linear at bench sizes."""
