"""The D-Link support portal (seed 002): D-Link Assist service activation, in French and English."""
