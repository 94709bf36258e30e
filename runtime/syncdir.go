package runtime

import "os"

// syncDir makes a directory's entries durable (a file created or renamed
// in it survives a power loss only once its directory is synced). Systems
// where a directory cannot be opened for syncing (Windows) skip it.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !os.IsPermission(err) {
		return err
	}
	return nil
}
