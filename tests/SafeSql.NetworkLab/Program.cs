Console.WriteLine("SafeSql.NetworkLab: experiments arrive with the classification issue.");
