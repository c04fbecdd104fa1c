"""The Task2Sim controller: Task2Vec vector in, one of the 256 simulation configs out (SPEC §2)."""
