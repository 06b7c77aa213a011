package main

import (
	"context"
	"errors"
	"io"
)

// These commands arrive with the scheduler; until then they say so.
var errNotBuilt = errors.New("not built yet")

func runDaemon(context.Context, []string, io.Writer, io.Writer) error   { return errNotBuilt }
func runOnce(context.Context, []string, io.Writer, io.Writer) error     { return errNotBuilt }
func runBackfill(context.Context, []string, io.Writer, io.Writer) error { return errNotBuilt }
func runDemo(context.Context, []string, io.Writer, io.Writer) error     { return errNotBuilt }
func runSchema(context.Context, []string, io.Writer, io.Writer) error   { return errNotBuilt }
