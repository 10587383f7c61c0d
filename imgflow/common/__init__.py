"""What every concern shares: atomic artefact writes, stage errors, parallel maps, the machine."""
