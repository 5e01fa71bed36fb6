//go:build unix && !linux

package simfs

import "syscall"

// statT fills the portable fields only; timestamps use per-platform field
// names and are left zero (use FileInfo.ModTime).
func (n *inode) fillStat(st *syscall.Stat_t, size int64) {
	*st = syscall.Stat_t{Size: size}
	set(&st.Dev, dev)
	set(&st.Ino, n.ino)
	set(&st.Nlink, n.nlink())
	set(&st.Mode, uint64(unixMode(n.mode)))
	set(&st.Uid, uint64(n.uid))
	set(&st.Gid, uint64(n.gid))
}
