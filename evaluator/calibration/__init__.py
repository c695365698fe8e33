"""The fitted parameters, how they are fitted on graded answers, and agreement with human grades."""
