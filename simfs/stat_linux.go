package simfs

import "syscall"

func (n *inode) fillStat(st *syscall.Stat_t, size int64) {
	*st = syscall.Stat_t{Size: size}
	set(&st.Blksize, 4096)
	set(&st.Blocks, uint64(size+511)/512)
	set(&st.Dev, dev)
	set(&st.Ino, n.ino)
	set(&st.Nlink, n.nlink())
	set(&st.Mode, uint64(unixMode(n.mode)))
	set(&st.Uid, uint64(n.uid))
	set(&st.Gid, uint64(n.gid))
	st.Atim = syscall.NsecToTimespec(n.atime.UnixNano())
	st.Mtim = syscall.NsecToTimespec(n.mtime.UnixNano())
	st.Ctim = syscall.NsecToTimespec(n.ctime.UnixNano())
}
