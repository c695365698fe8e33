"""Mock-interview transcripts: parsing them into turns, grading them as a batch, the summary."""
