package fetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CallCountFile is the name of the file, in STATE_DIR, that keeps the day's
// count of calls that reached wolkvox across restarts.
const CallCountFile = "wolkvox-calls-today.json"

// callCount is the number of calls that reached wolkvox on one day of the
// operation's time zone. With a path it is kept in a file, so that a
// restart does not forget the calls the quota already counted.
type callCount struct {
	path   string // "" keeps the count in memory only
	loaded bool
	Day    string `json:"day"`
	Calls  int    `json:"calls"`
}

// load reads the file once; a missing file is a count of zero.
func (c *callCount) load() error {
	if c.loaded || c.path == "" {
		c.loaded = true
		return nil
	}
	c.loaded = true
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = json.Unmarshal(b, c)
	}
	if err != nil {
		c.Day, c.Calls = "", 0
		return fmt.Errorf("daily call count %s: %w (counting from 0; delete the file if it stays unreadable)", c.path, err)
	}
	return nil
}

// today returns the count of day.
func (c *callCount) today(day string) int {
	if c.Day != day {
		return 0
	}
	return c.Calls
}

// add counts one call of day and writes the count (a new file renamed over
// the old one, so that a crash leaves one or the other).
func (c *callCount) add(day string) (int, error) {
	if c.Day != day {
		c.Day, c.Calls = day, 0
	}
	c.Calls++
	if c.path == "" {
		return c.Calls, nil
	}
	b, _ := json.Marshal(c) // two plain fields: cannot fail
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".calls-*")
	if err != nil {
		return c.Calls, fmt.Errorf("daily call count: %w", err)
	}
	_, err = tmp.Write(b)
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return c.Calls, fmt.Errorf("daily call count %s: %w", c.path, err)
	}
	return c.Calls, nil
}
