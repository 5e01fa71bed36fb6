"""Write numbered lines through logging.handlers.RotatingFileHandler.

usage: rotating_writer.py PATH LINES MAX_BYTES BACKUP_COUNT

Line seq is "seq=<seq> <pad(seq)>", the same as live.Line in Go; the handler
rotates by renaming PATH to PATH.1 (shifting older backups) and opening a new
PATH. Prints the number of rollovers when done.
"""
import logging
import logging.handlers
import sys


def pad(seq):
    # live.Pad: 0 to 63 letters derived from seq with 32-bit arithmetic.
    x = (seq * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF
    out = []
    for _ in range(x >> 26):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append(chr(ord("a") + (x >> 16) % 26))
    return "".join(out)


class CountingHandler(logging.handlers.RotatingFileHandler):
    rollovers = 0

    def doRollover(self):
        super().doRollover()
        self.rollovers += 1


def main():
    path, lines, max_bytes, backups = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    handler = CountingHandler(path, maxBytes=max_bytes, backupCount=backups)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("live")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    for seq in range(lines):
        log.info("seq=%d %s", seq, pad(seq))
    handler.close()
    print("rollovers=%d" % handler.rollovers)


if __name__ == "__main__":
    main()
