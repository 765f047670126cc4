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

    /**
     * The CPU a server of many processes has used so far, in clock ticks:
     * the process in pidFile (PostgreSQL's postmaster) with the children it
     * has reaped (cutime + cstime: the backends that have exited), plus
     * every live child of it. Its difference between two moments is what the
     * whole server used in between, backends that came or went included.
     * -1 if the process is gone.
     */
    static long treeTicks(Path pidFile) {
        String root;
        try {
            root = Files.readString(pidFile).trim();
        } catch (IOException e) {
            return -1;
        }
        long[] own = fieldsOf(root);
        if (own == null) {
            return -1;
        }
        long sum = own[0] + own[1] + own[2] + own[3];
        try (var entries = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path entry : entries) {
                long[] child = fieldsOf(entry.getFileName().toString());
                if (child != null && child[4] == Long.parseLong(root)) {
                    sum += child[0] + child[1] + child[2] + child[3];
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return sum;
    }

    /** utime, stime, cutime, cstime and the parent's pid of pid, or null if it is gone. */
    private static long[] fieldsOf(String pid) {
        if (!pid.matches("[0-9]+")) {
            return null;
        }
        try {
            String stat = Files.readString(Path.of("/proc", pid, "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (fields[0].equals("Z") || fields[0].equals("X")) {
                return null;
            }
            // After the name: ppid (field 4) is at 1, utime … cstime (14 … 17) at 11 … 14.
            return new long[] {Long.parseLong(fields[11]), Long.parseLong(fields[12]), Long.parseLong(fields[13]),
                Long.parseLong(fields[14]), Long.parseLong(fields[1])};
        } catch (IOException | RuntimeException e) {
            return null;
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
