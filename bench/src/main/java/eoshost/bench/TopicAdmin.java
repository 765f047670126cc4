package eoshost.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * Topic and group housekeeping in one JVM start: `create NAME:PARTITIONS...`
 * (waits until created; `--topic-config KEY=VALUE,...` gives every topic
 * created these settings, e.g. cleanup.policy=compact for the join case's
 * table), and `delete-prefix PREFIX` (every topic and consumer
 * group whose name starts with PREFIX — scripts/bench names all of its own
 * with the run's prefix, so nobody else's are touched).
 */
final class TopicAdmin {
    private TopicAdmin() {}

    static void run(Args args) throws Exception {
        List<String> words = args.positional();
        if (words.isEmpty()) {
            throw new Args.UsageException("admin needs create NAME:PARTITIONS... or delete-prefix PREFIX");
        }
        var config = new Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap"));
        try (var admin = org.apache.kafka.clients.admin.Admin.create(config)) {
            switch (words.get(0)) {
                case "create" -> {
                    Map<String, String> settings = topicConfig(args.get("topic-config", ""));
                    List<NewTopic> topics = new ArrayList<>();
                    for (String spec : words.subList(1, words.size())) {
                        String[] parts = spec.split(":");
                        if (parts.length != 2) {
                            throw new Args.UsageException("create wants NAME:PARTITIONS, not '" + spec + "'");
                        }
                        topics.add(new NewTopic(parts[0], Optional.of(Integer.parseInt(parts[1])), Optional.empty())
                                .configs(settings));
                    }
                    admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
                }
                case "delete-prefix" -> {
                    if (words.size() != 2 || words.get(1).length() < 8) {
                        throw new Args.UsageException("delete-prefix wants one prefix of 8 characters or more");
                    }
                    String prefix = words.get(1);
                    List<String> topics = admin.listTopics().names().get(60, TimeUnit.SECONDS).stream()
                            .filter(name -> name.startsWith(prefix)).toList();
                    admin.deleteTopics(topics).all().get(60, TimeUnit.SECONDS);
                    List<String> groups = admin.listGroups().all().get(60, TimeUnit.SECONDS).stream()
                            .map(GroupListing::groupId).filter(id -> id.startsWith(prefix)).toList();
                    try {
                        admin.deleteConsumerGroups(groups).all().get(60, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException e) {
                        System.err.println("admin: some groups under " + prefix + " stay: " + e.getCause().getMessage());
                    }
                    System.err.printf("admin: deleted %d topics and %d groups under %s%n", topics.size(),
                            groups.size(), prefix);
                }
                default -> throw new Args.UsageException("unknown admin command '" + words.get(0) + "'");
            }
        }
    }

    /** KEY=VALUE,... as a map; "" is none. */
    private static Map<String, String> topicConfig(String text) {
        Map<String, String> settings = new HashMap<>();
        for (String pair : text.split(",")) {
            if (pair.isEmpty()) {
                continue;
            }
            int equals = pair.indexOf('=');
            if (equals <= 0) {
                throw new Args.UsageException("--topic-config wants KEY=VALUE,..., not '" + pair + "'");
            }
            settings.put(pair.substring(0, equals), pair.substring(equals + 1));
        }
        return settings;
    }
}
