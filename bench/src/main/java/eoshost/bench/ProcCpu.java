package eoshost.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time processes have used so far, read from Linux's /proc/PID/stat. */
final class ProcCpu {
    private ProcCpu() {}

    /**
     * utime + stime in clock ticks of the processes whose pids are in pidFile
     * (one a line: a contender, or every node of the broker), or -1 if the
     * file or any of them is gone (or is a zombie).
     */
    static long ticks(Path pidFile) {
        try {
            long sum = 0;
            for (String pid : Files.readString(pidFile).trim().split("\\s+")) {
                long ticks = ticksOf(pid);
                if (ticks < 0) {
                    return -1;
                }
                sum += ticks;
            }
            return sum;
        } catch (IOException e) {
            return -1;
        }
    }

    private static long ticksOf(String pid) {
        // An empty or half-written file must not turn into /proc/stat.
        if (!pid.matches("[0-9]+")) {
            return -1;
        }
        try {
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
