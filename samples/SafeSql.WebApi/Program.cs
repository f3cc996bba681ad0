var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/", () => "SafeSql WebApi sample");
app.Run();
public partial class Program;
