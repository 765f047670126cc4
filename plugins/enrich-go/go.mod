module eoshost.local/enrich-go

go 1.24

require eoshost.local/go-sdk v0.0.0

replace eoshost.local/go-sdk => ../go-sdk
