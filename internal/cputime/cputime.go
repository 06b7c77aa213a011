// Package cputime reads the CPU time the process has used. Benchmarks on
// this shared 2-core machine report it beside wall time: wall time also
// counts waiting for a core, CPU time varies less.
package cputime
