"""The transcoding test contract (contracts/testdata/transcode), generated once per process."""
