package eoshost.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** `--name value` options and the positional words between them. */
final class Args {
    /** A missing or malformed option: the caller prints the usage. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private final Map<String, String> options = new HashMap<>();
    private final List<String> positional = new ArrayList<>();
    private final String[] argv;

    Args(String[] argv) {
        this.argv = argv.clone();
        for (int i = 0; i < argv.length; i++) {
            if (argv[i].startsWith("--")) {
                if (i + 1 >= argv.length) {
                    throw new UsageException(argv[i] + " needs a value");
                }
                options.put(argv[i].substring(2), argv[++i]);
            } else {
                positional.add(argv[i]);
            }
        }
    }

    /** These options and more; a later value of the same option wins. */
    Args with(String[] more) {
        String[] all = java.util.Arrays.copyOf(argv, argv.length + more.length);
        System.arraycopy(more, 0, all, argv.length, more.length);
        return new Args(all);
    }

    String get(String name) {
        String value = options.get(name);
        if (value == null) {
            throw new UsageException("--" + name + " is required");
        }
        return value;
    }

    String get(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    long getLong(String name) {
        return parse(name, get(name));
    }

    long getLong(String name, long fallback) {
        String value = options.get(name);
        return value == null ? fallback : parse(name, value);
    }

    List<String> positional() {
        return positional;
    }

    private static long parse(String name, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, not '" + value + "'");
        }
    }
}
