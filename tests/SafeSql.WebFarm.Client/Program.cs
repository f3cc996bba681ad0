// SafeSql.WebFarm.Client: one host of a web farm (SafeSql.Testing.Network.WebFarm). See FarmProgram.cs.
return await SafeSql.Farm.FarmProgram.RunAsync(args);
