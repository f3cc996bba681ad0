Console.WriteLine("SafeSql demo: scenarios arrive with the demo issue.");
