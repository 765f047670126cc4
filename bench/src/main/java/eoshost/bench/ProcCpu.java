package eoshost.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time a process has used so far, read from Linux's /proc/PID/stat. */
final class ProcCpu {
    private ProcCpu() {}

    /**
     * utime + stime in clock ticks of the process whose pid is in pidFile, or
     * -1 if the file or the process is gone (or is a zombie).
     */
    static long ticks(Path pidFile) {
        try {
            String pid = Files.readString(pidFile).trim();
            String stat = Files.readString(Path.of("/proc", pid, "stat"));
            // The command name (field 2) is parenthesised and may hold spaces.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (fields[0].equals("Z") || fields[0].equals("X")) {
                return -1;
            }
            // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
