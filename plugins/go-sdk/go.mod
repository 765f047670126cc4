module eoshost.local/go-sdk

go 1.24
