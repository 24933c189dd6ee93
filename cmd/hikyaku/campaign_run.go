package main

import "io"

func runCampaignRun(args []string, stdout, stderr io.Writer) error    { return usagef("campaign run: not yet") }
func runCampaignWorker(args []string, stdout, stderr io.Writer) error { return usagef("campaign worker: not yet") }
