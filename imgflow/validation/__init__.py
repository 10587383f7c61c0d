"""The validate stage's library: scan every file, apply the policies, check with GX, report."""
