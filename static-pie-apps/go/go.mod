module elfin.example/goprobe

go 1.19
