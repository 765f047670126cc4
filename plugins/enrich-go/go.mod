module eoshost.local/enrich-go

go 1.24
